import { RunningBridge } from '../app/admin-client.js';
import { backfillThrough, runSiteBackfill, type BackfillRequest } from '../app/backfill-runner.js';
import { ServiceError } from '../platform/errors.js';
import { createLogger } from '../platform/logger.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';
import { ReportProgress } from './report-progress.js';

/** `2026-01-31` (midnight UTC) or a full ISO-8601 time. */
function parseDate(name: string, value: string | undefined): number {
  const v = value?.trim() ?? '';
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(v)
    ? Date.parse(`${v}T00:00:00Z`)
    : /^\d{4}-\d{2}-\d{2}T/.test(v)
      ? Date.parse(v)
      : Number.NaN;
  if (Number.isNaN(ms))
    throw new ServiceError(
      'cli.usage',
      `--${name} must be a date (2026-01-31) or an ISO-8601 time, got "${value ?? ''}"`,
      { op: 'report.backfill' },
    );
  return ms;
}

export const runReportBackfill: CommandRun = async (args, io, command) => {
  const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  const siteName = args.values.site as string | undefined;
  if (!file || !siteName || args.values.from === undefined || args.values.to === undefined)
    return usage(io, command.usage);
  const fromMs = parseDate('from', args.values.from as string);
  // The requested --to names the resumable range (its cursor key); runBackfill pulls only up to now.
  const toMs = parseDate('to', args.values.to as string);
  if (fromMs >= Math.min(toMs, Date.now()))
    throw new ServiceError('cli.usage', '--from must be before --to (and before now)', { op: 'report.backfill' });
  const loaded = loadOrReport(file, io);
  if (!loaded.config) return loaded.exit;
  const config = loaded.config;
  // Progress goes to the terminal; the log (warnings and errors only) to stderr.
  const log = createLogger({ level: 'warn' });
  const progress = new ReportProgress(io.stdout, `backfill ${siteName}`);
  const abort = new AbortController();
  const onSignal = () =>
    abort.abort(new ServiceError('service.shutting_down', 'interrupted', { op: 'report.backfill' }));
  process.once('SIGINT', onSignal);
  const request: BackfillRequest = {
    site: siteName,
    fromMs,
    toMs,
    signal: abort.signal,
    onLockWait: () => write(io.stdout, 'waiting for the reporting leader lock (a replica is pulling reports)'),
    onStart: (s) =>
      progress.start(s.total, s.resumedFromMs === undefined ? undefined : new Date(s.resumedFromMs).toISOString()),
    onProgress: (p) => progress.update(p.done, p.total, p.cursor),
  };
  let started = false;
  try {
    // With the embedded store held by a running `serve`, that process does the work (only one
    // process may open the data directory); progress and Ctrl-C travel over its admin socket.
    const bridge = await RunningBridge.find(config.store);
    if (bridge) write(io.stdout, `through the running bridge (pid ${bridge.pid}), which holds the embedded store`);
    const result = bridge
      ? await backfillThrough(bridge, request, () => (started = true))
      : await runSiteBackfill(config, log, { ...request, onStart: (s) => ((started = true), request.onStart?.(s)) });
    progress.finish(`${result.done} session(s) loaded (${result.inserted} new, ${result.updated} updated)`);
    return EXIT.ok;
  } catch (e) {
    progress.abort();
    // Nothing to resume when the range never started (a usage error, a store or lock that could not be had).
    if (started) write(io.stderr, 'the committed part is kept: rerun the same command to resume');
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
  }
};
