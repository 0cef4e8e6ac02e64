import { ServiceError } from '../platform/errors.js';
import type { ReportSource } from './report-source.js';
import type { SessionRecord } from './session-record.js';

export interface ListedBatch {
  /** The requested sessions, in request order; never one that was not asked for. */
  sessions: SessionRecord[];
  /** Asked for, not returned, and no longer listed: deleted on the appliance in the meantime. */
  vanished: string[];
  /** Sessions the report returned without being asked for them (ignored). */
  unrequested: number;
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
  let unrequested = 0;
  const take = (records: SessionRecord[]) => {
    for (const r of records) {
      if (wanted.has(r.lsid)) got.set(r.lsid, r);
      else unrequested++;
    }
  };
  take(await source.sessions(batch, label, signal));
  let missing = batch.filter((l) => !got.has(l));
  if (missing.length > 0) {
    take(await source.sessions(missing, label, signal));
    missing = missing.filter((l) => !got.has(l));
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
  return { sessions: batch.flatMap((l) => got.get(l) ?? []), vanished, unrequested };
}
