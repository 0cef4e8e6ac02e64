import { ServiceError } from '../platform/errors.js';
import type { SessionRecord, SessionSummary } from './session-record.js';
import type { RejectedSession } from './rejected-session.js';
import { lsidProblem, mapSession, SessionFieldError } from './session-element.js';
import { attr, child, children, parseXmlDocument, text, type XmlNode } from './xml-node.js';

/** Where a report came from: named in every error so an operator can find the pull. */
export interface ReportContext {
  /** Configured site name. */
  site: string;
  /** Site hostname, stored as `host_name` (with lsid, the idempotency key). */
  hostName: string;
  /** `generate_report` value, e.g. AccessSession. */
  report: string;
  /** Human-readable selection, e.g. `end_time 2026-01-01T00:00:00Z..2026-01-01T01:00:00Z`. */
  window: string;
}

export type ParsedReport =
  { kind: 'sessions'; sessions: SessionRecord[] } | { kind: 'listing'; summaries: SessionSummary[] };

function invalid(ctx: ReportContext, reason: string, extra: Record<string, unknown> = {}): ServiceError {
  return new ServiceError(
    'report.xml_invalid',
    `${ctx.report} report from site ${ctx.site} (${ctx.window}) is invalid: ${reason}`,
    {
      op: 'report.parse',
      details: { site: ctx.site, report: ctx.report, window: ctx.window, reason, ...extra },
    },
  );
}

function apiError(ctx: ReportContext, message: string): ServiceError {
  return new ServiceError(
    'appliance.api_error',
    `${ctx.report} report from site ${ctx.site} (${ctx.window}) answered an error: ${message.trim() || '(empty)'}`,
    {
      op: 'report.fetch',
      details: {
        site: ctx.site,
        report: ctx.report,
        window: ctx.window,
        reason: `the report is an <error>: ${message.trim() || '(empty)'}`,
      },
    },
  );
}

/**
 * Parses any saved or fetched report: a session list (AccessSession / SupportSession) or a
 * listing (*SessionListing). An `<error>` document (as root, or inside the list) becomes
 * `appliance.api_error`; anything not well-formed or missing required fields becomes
 * `report.xml_invalid`. Without `rejected` one bad session fails the whole report (`report parse`);
 * with it (the worker) a session element that fails validation is left out and described there,
 * so one bad session never holds the rest. A document that is not a report at all always fails.
 */
export function parseReport(xml: string, ctx: ReportContext, rejected?: RejectedSession[]): ParsedReport {
  try {
    return parseWellFormed(xml, ctx, rejected);
  } catch (e) {
    // Whatever else the content provokes is still a bad report, never `internal`.
    if (e instanceof ServiceError) throw e;
    throw invalid(ctx, (e as Error).message.slice(0, 200));
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a report as received: strict UTF-8. A replacement character silently stored in
 * BGSessions would be worse than a refused report the operator can look at.
 */
export function decodeReport(bytes: Uint8Array, ctx: ReportContext): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw invalid(ctx, 'the report is not valid UTF-8');
  }
}

function parseWellFormed(xml: string, ctx: ReportContext, rejected?: RejectedSession[]): ParsedReport {
  const doc = parseXmlDocument(xml);
  if ('error' in doc) {
    const { message, line, col } = doc.error;
    throw invalid(ctx, line === undefined ? message : `${message} at line ${line}, column ${col}`, { line, col });
  }
  const { root, name } = doc;
  if (name === 'error') throw apiError(ctx, text(root) ?? '');
  const nested = child(root, 'error');
  if (nested !== undefined) throw apiError(ctx, text(nested) ?? '');
  if (name === 'session_summary_list') return { kind: 'listing', summaries: summaries(root, ctx, rejected) };
  if (name === 'session_list') return { kind: 'sessions', sessions: sessions(root, ctx, rejected) };
  throw invalid(ctx, `unexpected root element <${name}> (expected session_list or session_summary_list)`);
}

function sessions(root: XmlNode, ctx: ReportContext, rejected?: RejectedSession[]): SessionRecord[] {
  return children(root, 'session').flatMap((s, i) => {
    try {
      return [mapSession(s, ctx.hostName)];
    } catch (e) {
      if (!rejected) throw sessionInvalid(ctx, e, i);
      rejected.push(rejectedSession(attr(s, 'lsid'), e, i));
      return [];
    }
  });
}

function sessionInvalid(ctx: ReportContext, e: unknown, i: number): ServiceError {
  // Without a (valid) lsid the session is named by its position: a refused lsid is never echoed whole.
  if (e instanceof SessionFieldError)
    return invalid(ctx, e.lsid === undefined ? `${e.message} (session #${i})` : e.message, {
      session: i,
      lsid: e.lsid,
      field: e.field,
    });
  // Anything else the content throws (a character reference beyond Unicode, ...) names the session too.
  return invalid(ctx, `session #${i}: ${(e as Error).message.slice(0, 200)}`, { session: i });
}

function rejectedSession(lsid: string | undefined, e: unknown, i: number): RejectedSession {
  if (!(e instanceof SessionFieldError))
    return { lsid, reason: 'content_invalid', detail: `session #${i}: ${(e as Error).message.slice(0, 200)}` };
  if (e.field !== 'lsid') return { lsid, reason: 'field_invalid', detail: e.message };
  return { lsid, reason: lsid ? 'lsid_invalid' : 'lsid_missing', detail: `${e.message} (session #${i})` };
}

function summaries(root: XmlNode, ctx: ReportContext, rejected?: RejectedSession[]): SessionSummary[] {
  return children(root, 'session_summary').flatMap((s, i) => {
    const lsid = attr(s, 'lsid');
    const problem = lsid ? lsidProblem(lsid) : 'is missing';
    if (problem === undefined) return [{ lsid: lsid!, hasRecording: attr(s, 'has_recording')?.trim() === '1' }];
    if (rejected) {
      const reason = lsid ? 'lsid_invalid' : 'lsid_missing';
      rejected.push({ lsid, reason, detail: `session_summary #${i}: lsid attribute ${problem}` });
      return [];
    }
    if (!lsid) throw invalid(ctx, `session_summary #${i} has no lsid attribute`);
    throw invalid(ctx, `session_summary #${i}: lsid attribute ${problem}`, { session: i, field: 'lsid' });
  });
}

/** A session list report (full sessions); a listing here is a protocol error. */
export function parseSessionList(xml: string, ctx: ReportContext, rejected?: RejectedSession[]): SessionRecord[] {
  const r = parseReport(xml, ctx, rejected);
  if (r.kind !== 'sessions') throw invalid(ctx, 'expected a session_list, got a session_summary_list');
  return r.sessions;
}

/** A *SessionListing report. */
export function parseSessionListing(xml: string, ctx: ReportContext, rejected?: RejectedSession[]): SessionSummary[] {
  const r = parseReport(xml, ctx, rejected);
  if (r.kind !== 'listing') throw invalid(ctx, 'expected a session_summary_list, got a session_list');
  return r.summaries;
}
