import type { Logger } from 'pino';
import type { CommitFence, ReportStore, CursorStore } from './report-store-port.js';
import { countRange, pullRange } from './pull-range.js';
import type { RecordingPass } from './save-recordings.js';
import type { ReportSource } from './report-source.js';

export interface BackfillDeps {
  source: ReportSource;
  reports: ReportStore;
  state: CursorStore;
  log: Logger;
  /** The backfill's recording downloads; ended (`finish`) when the backfill ends. */
  recordings?: RecordingPass;
}

export interface BackfillOptions {
  site: string;
  /** The site's worker cursor key; the backfill keeps its own cursor beside it. */
  cursorKey: string;
  fromMs: number;
  /** The requested end (`--to`), possibly in the future: it names the range's cursor. */
  toMs: number;
  /** The pull stops at min(toMs, nowMs) (default: the current time); the cursor key never depends on it. */
  nowMs?: number;
  sliceMs: number;
  batchSize: number;
  includeInProgress: boolean;
  signal?: AbortSignal;
  /** The reporting leadership term every commit is fenced by (see PullRangeOptions.fence). */
  fence?: () => CommitFence;
  onStart?: (s: BackfillStart) => void;
  onProgress?: (p: BackfillProgress) => void;
}

export interface BackfillStart {
  total: number;
  resumedFromMs: number | undefined;
}

export interface BackfillProgress {
  done: number;
  total: number;
  inserted: number;
  updated: number;
  cursor?: string;
}

export interface BackfillResult {
  total: number;
  done: number;
  inserted: number;
  updated: number;
  resumedFromMs: number | undefined;
}

/** The cursor of one backfill range: rerunning the same range resumes where it stopped. */
export function backfillCursorKey(cursorKey: string, fromMs: number, toMs: number): string {
  return `${cursorKey}/backfill/${new Date(fromMs).toISOString()}..${new Date(toMs).toISOString()}`;
}

/**
 * Loads [fromMs, toMs) of a site's history, resumably: the range's own cursor (never the worker's)
 * moves with each committed slice, so an interrupted backfill rerun with the same range continues
 * after the last committed slice. Counts the work first (listings only) for progress.
 */
export async function runBackfill(deps: BackfillDeps, o: BackfillOptions): Promise<BackfillResult> {
  // Keyed by the requested range, not the clamped one: a rerun of the same command with a --to
  // still in the future resumes this cursor instead of starting a new one each time.
  const key = backfillCursorKey(o.cursorKey, o.fromMs, o.toMs);
  const toMs = Math.min(o.toMs, o.nowMs ?? Date.now());
  const stored = await deps.state.getCursor(key);
  const resumedFromMs = stored === undefined ? undefined : Date.parse(stored);
  const fromMs = resumedFromMs !== undefined && !Number.isNaN(resumedFromMs) ? resumedFromMs : o.fromMs;
  const range = {
    fromMs,
    toMs,
    sliceMs: o.sliceMs,
    includeInProgress: o.includeInProgress,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  const total = fromMs < toMs ? await countRange(deps.source, range) : 0;
  o.onStart?.({ total, resumedFromMs: fromMs === o.fromMs ? undefined : fromMs });
  deps.log.info(
    { site: o.site, from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), total },
    'backfill starting',
  );
  const last = await pullRange(
    {
      source: deps.source,
      reports: deps.reports,
      log: deps.log,
      ...(deps.recordings ? { recordings: deps.recordings } : {}),
    },
    {
      ...range,
      site: o.site,
      cursorKey: key,
      batchSize: o.batchSize,
      ...(o.fence ? { fence: o.fence } : {}),
      onProgress: (p) =>
        o.onProgress?.({
          done: p.processed,
          total: Math.max(total, p.processed),
          inserted: p.inserted,
          updated: p.updated,
          ...(p.cursor ? { cursor: p.cursor } : {}),
        }),
    },
  ).finally(() => deps.recordings?.finish());
  return {
    total,
    done: last?.processed ?? 0,
    inserted: last?.inserted ?? 0,
    updated: last?.updated ?? 0,
    resumedFromMs: fromMs === o.fromMs ? undefined : fromMs,
  };
}
