import type { Logger } from 'pino';
import { ServiceError } from '../platform/errors.js';
import type { AdminEvent } from '../http/admin-server.js';
import {
  runBackfill,
  type BackfillOptions,
  type BackfillProgress,
  type BackfillResult,
  type BackfillStart,
} from '../reporting/backfill.js';
import type { RunningBridge } from './admin-client.js';
import { REPORTING_LOCK, reportCursorKey, reportingSites } from '../reporting/report-worker.js';
import { acquireWhenFree } from '../reporting/leader-lock-wait.js';
import type { Leadership } from '../reporting/leadership.js';
import { RecordingDirectory } from '../reporting/recording-directory.js';
import { RecordingPass } from '../reporting/save-recordings.js';
import type { Store } from '../store/store-ports.js';
import type { Config } from './config-schema.js';
import { openStore } from './open-store.js';
import { createRuntime, type Runtime } from './runtime.js';
import { siteReportSources } from './units/site-report-source.js';

export type BackfillRequest = Pick<BackfillOptions, 'fromMs' | 'toMs' | 'signal' | 'onStart' | 'onProgress'> & {
  site: string;
  /** Called once when a replica's worker holds the reporting leader lock and the backfill waits for it. */
  onLockWait?: () => void;
};

/**
 * `report backfill`: opens the configured store (migrating it) and loads the range with
 * `backfillSite`; everything it opened is closed again, whatever happens. (While `serve` holds
 * the embedded store, the command asks the running bridge instead: src/app/units/admin-unit.ts.)
 */
export async function runSiteBackfill(config: Config, log: Logger, request: BackfillRequest): Promise<BackfillResult> {
  reportingSite(config, request.site); // a wrong --site fails before the store opens
  const rt = createRuntime(log);
  const store = await openStore(config.store, rt);
  try {
    await store.migrate();
    return await backfillSite(config, rt, store, request);
  } finally {
    await store.close();
  }
}

/**
 * Loads the range into an open, migrated `store` with the site's Reporting API client and the
 * worker's slice, batch and recording settings, holding the reporting leader lock the replicas'
 * workers take (its commits fenced by it like theirs): while it writes, no worker pulls (they stand by), so a backfill and a running
 * replica never write the same sessions at once.
 */
export async function backfillSite(
  config: Config,
  rt: Runtime,
  store: Store,
  request: BackfillRequest,
): Promise<BackfillResult> {
  const site = reportingSite(config, request.site);
  const client = siteReportSources(rt)(site, config.reporting);
  let leader: Leadership | undefined;
  try {
    leader = await acquireWhenFree(
      store.leadership,
      REPORTING_LOCK,
      rt.clock,
      config.reporting.leaderLeaseSeconds * 1000,
      request.signal ?? new AbortController().signal,
      () => request.onLockWait?.(),
    );
    const held = leader;
    const r = config.reporting;
    return await runBackfill(
      {
        source: client.source,
        reports: store.reports,
        state: store.state,
        log: rt.log,
        ...(r.recordings.enabled
          ? {
              recordings: new RecordingPass(
                {
                  recordings: new RecordingDirectory(r.recordings),
                  source: client.source,
                  reports: store.reports,
                  log: rt.log,
                  clock: rt.clock,
                  retryForHours: r.recordings.retryForHours,
                  metrics: rt.metrics,
                },
                site.name,
                request.signal,
              ),
            }
          : {}),
      },
      {
        ...request,
        site: site.name,
        cursorKey: reportCursorKey(site),
        sliceMs: r.sliceMinutes * 60_000,
        batchSize: r.batchSize,
        includeInProgress: r.includeInProgress,
        fence: () => held.fence(),
      },
    );
  } finally {
    await leader?.release();
    await client.close();
  }
}

function reportingSite(config: Config, name: string) {
  const sites = reportingSites(config.sites);
  const site = sites.find((s) => s.name === name);
  if (!site)
    throw new ServiceError(
      'cli.usage',
      `no site "${name}" with an enabled reporting account${sites.length ? ` (sites: ${sites.map((s) => s.name).join(', ')})` : ''}`,
      { op: 'report.backfill' },
    );
  return site;
}

/** The same backfill run by the `serve` that holds the embedded store, through its admin socket. */
export async function backfillThrough(
  bridge: RunningBridge,
  request: BackfillRequest,
  onStarted: () => void,
): Promise<BackfillResult> {
  const { site, fromMs, toMs } = request;
  return bridge.run<BackfillResult>(
    'backfill',
    { site, fromMs, toMs },
    (e) => {
      if (e.event === 'lock-wait') request.onLockWait?.();
      else if (e.event === 'start') {
        onStarted();
        request.onStart?.(e as AdminEvent & BackfillStart);
      } else if (e.event === 'progress') request.onProgress?.(e as AdminEvent & BackfillProgress);
    },
    request.signal,
  );
}
