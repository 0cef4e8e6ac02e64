import { createHash } from 'node:crypto';
import type { QuarantineEntry, RejectReason } from './report-store-port.js';

/** One session element of a report that failed validation, as the parser found it. */
export interface RejectedSession {
  /** The lsid attribute exactly as reported (any length); undefined when there was none. */
  lsid: string | undefined;
  reason: RejectReason;
  /** What was wrong, naming the field (never the whole refused lsid). */
  detail: string;
}

/** How much of a refused lsid is kept: enough to find it on the appliance, bounded for every column. */
export const QUARANTINE_LSID_MAX = 100;
const DETAIL_MAX = 300;

/**
 * The lsid as it can be stored and shown: at most QUARANTINE_LSID_MAX UTF-16 units (what an
 * nvarchar counts), never half a surrogate pair, control characters (a NUL is refused by
 * PostgreSQL text) shown as U+FFFD, `...` marking a cut.
 */
export function boundedLsid(raw: string): string {
  let kept = '';
  for (const point of raw) {
    if (kept.length + point.length > QUARANTINE_LSID_MAX) break;
    kept += point;
  }
  const shown = kept.replace(/[\u0000-\u001f\u007f]/g, '\uFFFD');
  return kept.length < raw.length ? `${shown}...` : shown;
}

/**
 * The quarantine row of a refused session. Keyed by a SHA-256 of the whole raw lsid, so the
 * same bad session read again (the overlap, a re-read) is the same row, whatever its length.
 */
export function quarantineEntry(site: string, window: string, r: RejectedSession): QuarantineEntry {
  const raw = r.lsid ?? '';
  return {
    site,
    lsid: boundedLsid(raw),
    lsidKey: createHash('sha256').update(raw, 'utf8').digest('hex'),
    reason: r.reason,
    detail: r.detail.slice(0, DETAIL_MAX),
    window: window.slice(0, 200),
  };
}
