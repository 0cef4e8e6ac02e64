import { ServiceError } from '../platform/errors.js';
import type { RejectedSession } from './rejected-session.js';
import type { ReportSource } from './report-source.js';
import type { SessionRecord } from './session-record.js';

export interface ListedBatch {
  /** The requested sessions, in request order; never one that was not asked for. */
  sessions: SessionRecord[];
  /** Asked for, not returned, and no longer listed: deleted on the appliance in the meantime. */
  vanished: string[];
  /** Sessions the report returned without being asked for them (ignored). */
  unrequested: number;
  /** Session elements that failed validation (accounted for: quarantined by the caller, never written). */
  rejected: RejectedSession[];
}

/**
 * Fetches one batch of listed lsids and accounts for every one of them before the batch may be
 * committed (and the cursor move past them). An lsid the report left out is asked for once more
 * on its own; still missing, the slice is listed again: a session the appliance no longer lists
 * was deleted there (accounted for, the caller logs and counts it); one it still lists but will
 * not return fails the batch with `report.incomplete`, so the next run tries again. Sessions the
 * report returns without being asked for are never written (their own slice covers them).
 */
export async function fetchListed(
  source: ReportSource,
  batch: readonly string[],
  relist: () => Promise<ReadonlyMap<string, unknown>>,
  label: string,
  signal?: AbortSignal,
): Promise<ListedBatch> {
  const wanted = new Set(batch);
  const got = new Map<string, SessionRecord>();
  const rejected: RejectedSession[] = [];
  const refused = new Set<string>();
  let unrequested = 0;
  const take = (records: SessionRecord[]) => {
    for (const r of records) {
      if (wanted.has(r.lsid)) got.set(r.lsid, r);
      else unrequested++;
    }
  };
  const fetch = async (lsids: readonly string[]) => {
    const before = rejected.length;
    take(await source.sessions(lsids, label, signal, rejected));
    for (const r of rejected.slice(before)) if (r.lsid !== undefined && wanted.has(r.lsid)) refused.add(r.lsid);
  };
  await fetch(batch);
  const accounted = (l: string) => got.has(l) || refused.has(l);
  let missing = batch.filter((l) => !accounted(l));
  if (missing.length > 0) {
    await fetch(missing);
    missing = missing.filter((l) => !accounted(l));
  }
  let vanished: string[] = [];
  if (missing.length > 0) {
    const listed = await relist();
    const omitted = missing.filter((l) => listed.has(l));
    if (omitted.length > 0)
      throw new ServiceError(
        'report.incomplete',
        `the report for ${label} left out ${omitted.length} listed session(s) (${omitted.slice(0, 5).join(', ')}${omitted.length > 5 ? ', ...' : ''}); nothing of the batch was written`,
        { op: 'report.fetch', details: { window: label, omitted: omitted.slice(0, 50), omittedCount: omitted.length } },
      );
    vanished = missing;
  }
  return { sessions: batch.flatMap((l) => got.get(l) ?? []), vanished, unrequested, rejected };
}
