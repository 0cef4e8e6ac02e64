import type { Logger } from 'pino';
import { ServiceError } from '../platform/errors.js';
import { runBackfill, type BackfillOptions, type BackfillResult } from '../reporting/backfill.js';
import { REPORTING_LOCK, reportCursorKey, reportingSites } from '../reporting/create-report-worker.js';
import { acquireWhenFree } from '../reporting/leader-lock-wait.js';
import { RecordingDirectory } from '../reporting/recording-directory.js';
import type { Config } from './config-schema.js';
import { openStore } from './open-store.js';
import { createRuntime } from './runtime.js';
import { siteReportSources } from './site-report-source.js';

export type BackfillRequest = Pick<BackfillOptions, 'fromMs' | 'toMs' | 'signal' | 'onStart' | 'onProgress'> & {
  site: string;
  /** Called once when a replica's worker holds the reporting leader lock and the backfill waits for it. */
  onLockWait?: () => void;
};

/**
 * `report backfill`: opens the configured store (migrating it), builds the site's Reporting API
 * client, and loads the range with the worker's slice, batch and recording settings, holding the
 * reporting leader lock the replicas' workers take: while it writes, no worker pulls (they stand
 * by), so a backfill and a running replica never write the same sessions at once. Everything it
 * opened is closed again, whatever happens.
 */
export async function runSiteBackfill(config: Config, log: Logger, request: BackfillRequest): Promise<BackfillResult> {
  const sites = reportingSites(config.sites);
  const site = sites.find((s) => s.name === request.site);
  if (!site)
    throw new ServiceError(
      'cli.usage',
      `no site "${request.site}" with an enabled reporting account${sites.length ? ` (sites: ${sites.map((s) => s.name).join(', ')})` : ''}`,
      { op: 'report.backfill' },
    );
  const rt = createRuntime(log);
  const store = await openStore(config.store, rt);
  const client = siteReportSources(rt)(site, config.reporting);
  let lock: { release(): Promise<void> } | undefined;
  try {
    await store.migrate();
    lock = await acquireWhenFree(
      store.lock,
      REPORTING_LOCK,
      rt.clock,
      request.signal ?? new AbortController().signal,
      () => request.onLockWait?.(),
    );
    const r = config.reporting;
    return await runBackfill(
      {
        source: client.source,
        reports: store.reports,
        state: store.state,
        log,
        ...(r.recordings.enabled ? { recordings: new RecordingDirectory(r.recordings) } : {}),
      },
      {
        ...request,
        site: site.name,
        cursorKey: reportCursorKey(site),
        sliceMs: r.sliceMinutes * 60_000,
        batchSize: r.batchSize,
        includeInProgress: r.includeInProgress,
      },
    );
  } finally {
    await lock?.release();
    await client.close();
    await store.close();
  }
}
