import type { Logger } from 'pino';
import { systemClock, type Clock } from '../platform/clock.js';
import { quarantineEntry, type RejectedSession } from './rejected-session.js';
import type { CommitFence, QuarantineEntry, ReportStore } from './report-store-port.js';
import { fetchListed } from './fetch-listed.js';
import { describeWindow, type ReportSource, type ReportWindow } from './report-source.js';
import { recordingFiles, type RecordingPass } from './save-recordings.js';

export interface PullRangeDeps {
  source: ReportSource;
  reports: ReportStore;
  log: Logger;
  /** This pull's recording downloads (files that fail are owed, see RecordingPass). */
  recordings?: RecordingPass;
  /** When sessions are quarantined (systemClock when absent). */
  clock?: Clock;
}

export interface PullRangeOptions {
  site: string;
  /** CursorStore key of the cursor this pull advances (moved with the last batch of each slice). */
  cursorKey: string;
  fromMs: number;
  toMs: number;
  sliceMs: number;
  batchSize: number;
  /** Also read sessions that started in the slice (in progress ones included), not only closed ones. */
  includeInProgress: boolean;
  signal?: AbortSignal;
  /** The leadership term every commit is fenced by (renewed by it; refused when the term is over). */
  fence?: () => CommitFence;
  /** Called after every committed batch. */
  onProgress?: (p: PullProgress) => void;
  /** Called with the sessions quarantined for the first time (already logged), to count them. */
  onRejected?: (entries: QuarantineEntry[]) => void;
}

export interface PullProgress {
  slice: ReportWindow;
  /** Sessions listed in the current slice, and how many of them are committed. */
  sliceListed: number;
  sliceDone: number;
  /** Totals over the whole range so far: listed sessions handled, sessions written. */
  processed: number;
  sessions: number;
  /** Listed sessions deleted on the appliance before they could be fetched (accounted for, not written). */
  vanished: number;
  inserted: number;
  updated: number;
  /** The cursor value committed last (ISO), when a slice finished. */
  cursor?: string;
}

/** Slice boundaries in whole seconds: the Reporting API selects by unix seconds. */
export function slices(fromMs: number, toMs: number, sliceMs: number): ReportWindow[] {
  const out: ReportWindow[] = [];
  const end = Math.floor(toMs / 1000) * 1000;
  for (let a = Math.floor(fromMs / 1000) * 1000; a < end; a += sliceMs)
    out.push({ by: 'end', fromMs: a, toMs: Math.min(a + sliceMs, end) });
  return out;
}

/** A listed session of a slice: whether it has a recording, and whether it ended in the slice. */
interface Listed {
  recording: boolean;
  ended: boolean;
}

/** The lsids a slice covers (closed in it; with in-progress, also started in it). */
async function listSlice(
  source: ReportSource,
  slice: ReportWindow,
  includeInProgress: boolean,
  signal?: AbortSignal,
  rejected?: RejectedSession[],
): Promise<Map<string, Listed>> {
  const listed = new Map<string, Listed>();
  for (const s of await source.listing(slice, signal, rejected))
    listed.set(s.lsid, { recording: s.hasRecording, ended: true });
  if (includeInProgress) {
    for (const s of await source.listing({ ...slice, by: 'start' }, signal, rejected)) {
      const seen = listed.get(s.lsid);
      listed.set(s.lsid, { recording: (seen?.recording ?? false) || s.hasRecording, ended: seen?.ended ?? false });
    }
  }
  return listed;
}

/**
 * With in-progress sessions, one that starts in a slice and ends in a later one is listed by
 * both: counted once, in the slice that lists it first. Holds only the sessions listed as started
 * and not yet as ended (the ones open across a boundary), so memory stays flat over long ranges.
 */
class SpanningSessions {
  readonly #open = new Set<string>();

  /** The lsids of this slice already counted in an earlier slice. */
  repeats(listed: Map<string, Listed>): Set<string> {
    const again = new Set<string>();
    for (const [lsid, l] of listed) {
      if (this.#open.has(lsid)) {
        again.add(lsid);
        if (l.ended) this.#open.delete(lsid);
      } else if (!l.ended) this.#open.add(lsid);
    }
    return again;
  }
}

/**
 * Keeps refused sessions in the quarantine before the cursor can move past them; each is logged
 * and counted once (the first time the quarantine sees it), whatever re-reads it again.
 */
async function quarantine(
  deps: PullRangeDeps,
  o: PullRangeOptions,
  label: string,
  rejected: readonly RejectedSession[],
): Promise<void> {
  if (rejected.length === 0) return;
  const at = new Date((deps.clock ?? systemClock).now());
  const fresh = await deps.reports.quarantine(
    rejected.map((r) => quarantineEntry(o.site, label, r)),
    at,
  );
  for (const e of fresh)
    deps.log.warn(
      { site: o.site, window: label, lsid: e.lsid, reason: e.reason, detail: e.detail },
      'reporting: a session failed validation; quarantined, not stored (the rest of the window is)',
    );
  if (fresh.length > 0) o.onRejected?.(fresh);
}

/**
 * Pulls [fromMs, toMs) into the report store, slice by slice. Per slice: the listing of sessions
 * that ended in it (plus, with `includeInProgress`, those that started in it), then the full
 * sessions by `lsids` in batches of `batchSize` (every listed lsid accounted for, see
 * `fetchListed`), each batch one transaction; the last batch of a
 * slice carries the cursor (the slice end), so the cursor moves only when the whole slice is
 * committed. Memory holds one slice's listing and one batch. A session element that fails
 * validation (in the listing or the full report) is quarantined, never written, and does not hold
 * the cursor. Any other failure (transport, `<error>`, a document that is not a report, database) stops the pull with the cursor at the last committed slice; rerunning
 * re-reads that slice, and idempotent writes (host_name, lsid) make the re-read harmless.
 */
export async function pullRange(deps: PullRangeDeps, o: PullRangeOptions): Promise<PullProgress | undefined> {
  const totals = { processed: 0, sessions: 0, vanished: 0, inserted: 0, updated: 0 };
  let last: PullProgress | undefined;
  // Sessions already written closed (final) whose end lies in a later slice of this pull: that
  // slice's listing names them again, and fetching them twice would be wasted work. Holds only
  // sessions spanning a slice boundary.
  const final = new Map<string, number>();
  const spanning = new SpanningSessions();
  for (const slice of slices(o.fromMs, o.toMs, o.sliceMs)) {
    o.signal?.throwIfAborted();
    const label = describeWindow(slice);
    const refusedInListing: RejectedSession[] = [];
    const listed = await listSlice(deps.source, slice, o.includeInProgress, o.signal, refusedInListing);
    await quarantine(deps, o, label, refusedInListing);
    // `processed` counts distinct sessions: one listed again (it spans a boundary) was counted already.
    const again = spanning.repeats(listed);
    const lsids = [...listed.keys()].filter((l) => !final.has(l));
    for (const [lsid, endMs] of final) if (endMs < slice.toMs) final.delete(lsid);
    const cursor = { key: o.cursorKey, value: new Date(slice.toMs).toISOString() };
    let done = 0;
    for (let k = 0; k < lsids.length || k === 0; k += o.batchSize) {
      o.signal?.throwIfAborted();
      const batch = lsids.slice(k, k + o.batchSize);
      const relist = () => listSlice(deps.source, slice, o.includeInProgress, o.signal);
      const {
        sessions: fetched,
        vanished,
        unrequested,
        rejected,
      } = await fetchListed(deps.source, batch, relist, label, o.signal);
      await quarantine(deps, o, label, rejected);
      if (vanished.length > 0 || unrequested > 0)
        deps.log.warn(
          { site: o.site, window: label, vanished: vanished.slice(0, 50), vanishedCount: vanished.length, unrequested },
          'report batch: listed sessions deleted on the appliance are skipped, unrequested sessions ignored',
        );
      totals.vanished += vanished.length;
      const sessions = o.includeInProgress ? fetched : fetched.filter((s) => s.endTime !== null);
      if (deps.recordings) {
        const files = recordingFiles(sessions, (lsid) => listed.get(lsid)?.recording === true);
        await deps.recordings.fetch(files);
      }
      const isLast = k + o.batchSize >= lsids.length;
      const r = await deps.reports.writeSessions(sessions, isLast ? cursor : undefined, o.fence?.());
      for (const s of sessions)
        if (s.endTime !== null && s.endTime.getTime() >= slice.toMs && s.endTime.getTime() < o.toMs)
          final.set(s.lsid, s.endTime.getTime());
      done += batch.length;
      totals.processed += batch.filter((l) => !again.has(l)).length;
      totals.sessions += sessions.length;
      totals.inserted += r.inserted;
      totals.updated += r.updated;
      last = {
        slice,
        sliceListed: lsids.length,
        sliceDone: done,
        ...totals,
        ...(isLast ? { cursor: cursor.value } : {}),
      };
      o.onProgress?.(last);
    }
    deps.log.debug({ site: o.site, window: label, sessions: lsids.length }, 'report slice committed');
  }
  return last;
}

/**
 * How many distinct sessions a pull of [fromMs, toMs) covers (listings only, one slice at a time):
 * the "total" of a backfill's progress, counted as `pullRange` counts `processed`.
 */
export async function countRange(
  source: ReportSource,
  o: Pick<PullRangeOptions, 'fromMs' | 'toMs' | 'sliceMs' | 'includeInProgress' | 'signal'>,
): Promise<number> {
  let total = 0;
  const spanning = new SpanningSessions();
  for (const slice of slices(o.fromMs, o.toMs, o.sliceMs)) {
    // A refused listing entry is not counted: the pull quarantines it, it never becomes "loaded".
    const listed = await listSlice(source, slice, o.includeInProgress, o.signal, []);
    total += listed.size - spanning.repeats(listed).size;
  }
  return total;
}
