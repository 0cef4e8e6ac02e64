/**
 * Times in reports: unix seconds (real appliances, `timestamp` attributes) or ISO-8601 text
 * (documentation mocks). Only what the BGSessions columns can hold and what a session can have
 * is accepted: a real calendar date between 1970-01-01 (unix seconds cannot be earlier) and
 * 9999-12-31 (the end of SQL Server's datetime2). JavaScript's `Date` parser is not used: it
 * accepts `-1` (as the year 2001), `2026-02-30` (as 2 March) and years up to +275760.
 */
export class TimestampError extends Error {}

const MIN_MS = 0;
const MAX_MS = Date.UTC(10_000, 0, 1) - 1;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s?(Z|[+-]\d{2}:?\d{2})?$/i;

/** The time `value` names; undefined when absent or empty; TimestampError when unusable. */
export function parseReportTime(value: string | undefined): Date | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const ms = /^\d{1,15}$/.test(v) ? Number(v) * 1000 : isoMs(v);
  if (ms < MIN_MS || ms > MAX_MS) throw new TimestampError(`${preview(v)} is outside 1970-01-01..9999-12-31`);
  return new Date(ms);
}

function isoMs(v: string): number {
  const m = ISO.exec(v);
  if (!m) throw new TimestampError(`${preview(v)} is neither unix seconds nor an ISO-8601 date-time`);
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as number[];
  // Checked before Date.UTC, which reads years 0-99 as 1900-1999.
  if (year! < 1970) throw new TimestampError(`${preview(v)} is outside 1970-01-01..9999-12-31`);
  const ms = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, Number(frac.padEnd(3, '0').slice(0, 3)));
  // Date.UTC rolls over (30 February becomes 2 March): a round trip shows whether the date exists.
  const back = new Date(ms);
  if (
    month! < 1 ||
    month! > 12 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  )
    throw new TimestampError(`${preview(v)} is not a real calendar date and time`);
  return ms - offsetMs(zone);
}

/** `Z`, `+02:00`, `-0530` or none (UTC, never the host's zone). */
function offsetMs(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
}

function preview(v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
}
