import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { REPORT_NAMES } from './report-client.js';
import type { ReportingConfig } from './reporting-config.js';
import type { ReportingStore } from './report-store-port.js';
import type { ReportingSite, ReportSourceFactory, SiteReportSource } from './report-source.js';
import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { Component } from '../platform/lifecycle.js';
import type { ComponentStatus, Readiness } from '../platform/readiness.js';
import { FailbackReread, type FailbackPlan } from './failback-reread.js';
import { Leadership } from './leadership.js';
import { PullHistory } from './pull-history.js';
import { pullRange } from './pull-range.js';
import { RecordingDirectory } from './recording-directory.js';
import { RecordingPass } from './save-recordings.js';
import { reportMetrics, type LagSource, type ReportMetrics } from './report-metrics.js';

/** Everything the worker reads: the `reporting` section and the sites with a reporting account. */
export interface ReportWorkerSettings {
  reporting: ReportingConfig;
  sites: ReportingSite[];
}

export interface ReportWorkerDeps {
  store: ReportingStore;
  /** Builds the Reporting API client of a site (the composition root supplies it). */
  sources: ReportSourceFactory;
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  clock: Clock;
}

/** The CursorStore key of a site's cursor: one per site and report type. */
export function reportCursorKey(site: Pick<ReportingSite, 'name' | 'product'>): string {
  return `reporting/${site.name}/${REPORT_NAMES[site.product].sessions}`;
}

/** The sites with an enabled reporting account, without their ECM account (not the worker's business). */
export function reportingSites<S extends ReportingSite & { ecm?: unknown }>(sites: readonly S[]): ReportingSite[] {
  return sites.filter((s) => s.reporting?.enabled).map(({ ecm: _ecm, ...site }) => site);
}

export const REPORTING_LOCK = 'ecm-bridge.reporting';

interface SiteState {
  cursorMs?: number;
  /** The failback re-read owed at the last pull (FailbackReread), for /readyz. */
  failback?: { fromMs: number; syncAfterMs: number };
  /** Before a first committed cursor: the start of the initial lookback, from which lag is measured. */
  lookbackStartMs?: number;
  lastRunAt?: string;
  lastSuccessAt?: string;
  lastError?: { code: string; message: string };
  lastSessions?: number;
}

export type RunOutcome = 'ok' | 'failed' | 'standby' | 'stopped' | 'disabled';

/**
 * The reporting worker: on the cron schedule (node-cron only triggers), one replica (the holder
 * of the reporting leadership's lease, see Leadership) pulls each site's sessions since its cursor minus the overlap, up
 * to now, through pullRange. Runs never overlap (single flight); stop() aborts a run in flight,
 * whose committed slices stay committed. Status and lag per site on /readyz (`reporting`) and
 * /metrics.
 */
export class ReportWorker implements Component {
  readonly name = 'reporting';
  readonly #sites: ReportingSite[];
  readonly #state = new Map<string, SiteState>();
  readonly #clients = new Map<string, SiteReportSource>();
  readonly #metrics: ReportMetrics;
  readonly #failback: FailbackReread;
  readonly #lagSource: LagSource = () => this.#lags();
  #task: ScheduledTask | undefined;
  #running: Promise<Record<string, RunOutcome>> | undefined;
  /** When the run in flight started, if the next trigger came while it still ran (overdue). */
  #overdueSince: number | undefined;
  #runStartedAt = 0;
  #abort = new AbortController();
  #standby = false;
  /** The last 24 h of pulls per site (in memory; the status page's chart). */
  readonly history: PullHistory;

  constructor(
    private readonly config: ReportWorkerSettings,
    private readonly deps: ReportWorkerDeps,
  ) {
    this.#sites = config.reporting.enabled ? config.sites : [];
    this.#metrics = reportMetrics(deps.metrics);
    this.history = new PullHistory(deps.clock);
    this.#failback = new FailbackReread(deps.store.failback, deps.log, config.reporting.failbackRereadMaxHours);
  }

  async start(): Promise<void> {
    this.#abort = new AbortController();
    this.deps.readiness.register('reporting', () => this.status(), { critical: false });
    // The lag gauge survives reloads (one per registry): point it at this worker until stop().
    this.#metrics.attachLag(this.#lagSource);
    if (this.#sites.length === 0) return;
    for (const site of this.#sites) {
      // Only for lag reporting before the first run: a store that is down now is retried by the run.
      const cursor = await this.deps.store.state.getCursor(reportCursorKey(site)).catch(() => undefined);
      this.#state.set(
        site.name,
        cursor
          ? { cursorMs: Date.parse(cursor) }
          : { lookbackStartMs: this.deps.clock.now() - this.config.reporting.initialLookbackHours * 3_600_000 },
      );
      this.#metrics.site(site.name);
    }
    this.#task = cron.createTask(
      this.config.reporting.schedule,
      () => this.runNow().catch((e: unknown) => this.deps.log.error({ err: e }, 'reporting: run failed')),
      { name: 'reporting' },
    );
    await this.#task.start();
  }

  async stop(graceMs: number): Promise<void> {
    await this.#task?.destroy();
    this.#task = undefined;
    this.#abort.abort(new ServiceError('service.shutting_down', 'reporting worker stopping', { op: 'reporting.stop' }));
    const running = this.#running;
    if (running && !(await settlesWithin(running, graceMs))) {
      // The run is aborted and stops at its next batch boundary, but a batch write in flight must
      // finish before the caller closes the store: wait for it, bounded by a second grace period.
      this.deps.log.warn(
        { graceMs },
        'reporting: run still in flight after the grace period; waiting for its current batch',
      );
      if (!(await settlesWithin(running, graceMs))) {
        this.deps.log.error(
          { waitedMs: 2 * graceMs },
          'reporting: run still in flight after twice the grace period; stopping without it',
        );
      }
    }
    for (const c of this.#clients.values()) await c.close().catch(() => undefined);
    this.#clients.clear();
    this.#metrics.detachLag(this.#lagSource);
    this.deps.readiness.unregister('reporting');
  }

  /**
   * Runs one pull of every site now (the cron callback); a run in flight is joined, not repeated.
   * A trigger that finds the previous run still going means that run has outlived its period:
   * /readyz says so until it ends (a stalled download must not look like a healthy site).
   */
  runNow(): Promise<Record<string, RunOutcome>> {
    if (this.#running) {
      this.#overdueSince ??= this.#runStartedAt;
      return this.#running;
    }
    this.#runStartedAt = this.deps.clock.now();
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      this.#overdueSince = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<Record<string, RunOutcome>> {
    const outcomes: Record<string, RunOutcome> = {};
    if (this.#sites.length === 0) return outcomes;
    let leader;
    try {
      leader = await Leadership.take(
        this.deps.store.leadership,
        REPORTING_LOCK,
        this.deps.clock,
        this.config.reporting.leaderLeaseSeconds * 1000,
      );
    } catch (e) {
      for (const s of this.#sites) outcomes[s.name] = this.#failed(s, e, undefined);
      return outcomes;
    }
    this.#standby = leader === undefined;
    if (!leader) {
      for (const s of this.#sites) await this.#standBy(s, outcomes);
      this.deps.log.debug('reporting: another replica holds the reporting leadership; standing by');
      return outcomes;
    }
    try {
      for (const site of this.#sites) {
        if (this.#abort.signal.aborted) break;
        if (this.#standby) await this.#standBy(site, outcomes);
        else outcomes[site.name] = await this.#pullSite(site, leader);
      }
    } finally {
      await leader.release().catch(() => undefined); // a term not released lapses after one lease
    }
    return outcomes;
  }

  async #standBy(site: ReportingSite, outcomes: Record<string, RunOutcome>): Promise<void> {
    outcomes[site.name] = 'standby';
    this.#metrics.runs.inc({ site: site.name, outcome: 'standby' });
    await this.#readCommittedCursor(site);
  }

  async #pullSite(site: ReportingSite, leader: Leadership): Promise<RunOutcome> {
    const r = this.config.reporting;
    const now = this.deps.clock.now();
    const st = this.#state.get(site.name) ?? {};
    this.#state.set(site.name, st);
    st.lastRunAt = new Date(now).toISOString();
    const key = reportCursorKey(site);
    let counted = { inserted: 0, updated: 0, vanished: 0 };
    let recordings: RecordingPass | undefined;
    try {
      const stored = await this.deps.store.state.getCursor(key);
      const cursorMs = stored === undefined ? undefined : Date.parse(stored);
      if (stored !== undefined && Number.isNaN(cursorMs))
        this.deps.log.warn(
          { site: site.name, cursor: stored },
          'reporting: unreadable cursor ignored; starting from the initial lookback',
        );
      const client = this.#client(site);
      const failback = await this.#failbackPlan(site, client, now, leader);
      if (failback.owed) st.failback = failback.owed;
      else delete st.failback;
      const fromMs = Math.min(
        cursorMs !== undefined && !Number.isNaN(cursorMs)
          ? cursorMs - r.overlapMinutes * 60_000
          : now - r.initialLookbackHours * 3_600_000,
        failback.fromMs ?? Infinity,
      );
      if (failback.fromMs !== undefined)
        this.deps.log.info(
          { site: site.name, from: new Date(fromMs).toISOString() },
          'reporting: failback re-read: the primary reports a successful data sync after the change; re-reading the window since the last one',
        );
      recordings = r.recordings.enabled ? this.#recordingPass(site, client) : undefined;
      const progress = await pullRange(
        {
          source: client.source,
          reports: this.deps.store.reports,
          log: this.deps.log,
          clock: this.deps.clock,
          ...(recordings ? { recordings } : {}),
        },
        {
          site: site.name,
          cursorKey: key,
          fromMs,
          toMs: now,
          sliceMs: r.sliceMinutes * 60_000,
          batchSize: r.batchSize,
          includeInProgress: r.includeInProgress,
          signal: this.#abort.signal,
          fence: () => leader.fence(),
          onRejected: (entries) => {
            for (const e of entries) this.#metrics.rejected.inc({ site: site.name, reason: e.reason });
          },
          onProgress: (p) => {
            if (p.cursor) st.cursorMs = Date.parse(p.cursor);
            this.#metrics.sessions.inc({ site: site.name, result: 'inserted' }, p.inserted - counted.inserted);
            this.#metrics.sessions.inc({ site: site.name, result: 'updated' }, p.updated - counted.updated);
            this.#metrics.vanished.inc({ site: site.name }, p.vanished - counted.vanished);
            counted = { inserted: p.inserted, updated: p.updated, vanished: p.vanished };
          },
        },
      );
      await this.#failback.finish(site.name, failback, () => leader.fence());
      if (failback.done) {
        this.#metrics.failbacks.inc({ site: site.name });
        delete st.failback;
      }
      await recordings?.retryOwed();
      delete st.lastError;
      st.lastSuccessAt = new Date(this.deps.clock.now()).toISOString();
      st.lastSessions = progress?.sessions ?? 0;
      this.history.record(site.name, {
        outcome: 'ok',
        sessions: st.lastSessions,
        lagSeconds: this.#lags().get(site.name) ?? null,
      });
      this.#metrics.runs.inc({ site: site.name, outcome: 'ok' });
      this.#metrics.lastSuccess.set({ site: site.name }, this.deps.clock.now() / 1000);
      this.deps.log.info(
        {
          site: site.name,
          sessions: st.lastSessions,
          inserted: progress?.inserted ?? 0,
          updated: progress?.updated ?? 0,
          cursor: progress?.cursor,
        },
        'reporting: pull complete',
      );
      return 'ok';
    } catch (e) {
      if (this.#abort.signal.aborted) {
        this.deps.log.info({ site: site.name }, 'reporting: pull interrupted by shutdown; committed slices are kept');
        return 'stopped';
      }
      if (isServiceError(e) && e.code === 'report.leader_lost') {
        // Not a failure of the site: this replica stalled past its lease and another took over.
        this.#standby = true;
        this.deps.log.warn(
          { site: site.name, epoch: leader.term.epoch, leaseSeconds: this.config.reporting.leaderLeaseSeconds },
          'reporting: the reporting leadership passed to another replica while this one was not renewing it; nothing of the batch was written, stepping down',
        );
        this.#metrics.runs.inc({ site: site.name, outcome: 'standby' });
        return 'standby';
      }
      return this.#failed(site, e, st);
    } finally {
      await recordings?.finish();
    }
  }

  /** One pull's recording downloads of `site`; owed files are retried after the pull (RecordingPass). */
  #recordingPass(site: ReportingSite, client: SiteReportSource): RecordingPass {
    const r = this.config.reporting.recordings;
    return new RecordingPass(
      {
        recordings: new RecordingDirectory(r),
        source: client.source,
        reports: this.deps.store.reports,
        log: this.deps.log,
        clock: this.deps.clock,
        retryForHours: r.retryForHours,
        metrics: this.deps.metrics,
      },
      site.name,
      this.#abort.signal,
    );
  }

  #failed(site: ReportingSite, e: unknown, state: SiteState | undefined): RunOutcome {
    const st = state ?? this.#state.get(site.name) ?? {};
    this.#state.set(site.name, st);
    const code = isServiceError(e) ? e.code : 'internal';
    const message = isServiceError(e) ? e.message : 'internal error';
    st.lastError = { code, message };
    this.history.record(site.name, {
      outcome: 'failed',
      sessions: 0,
      lagSeconds: this.#lags().get(site.name) ?? null,
    });
    this.#metrics.runs.inc({ site: site.name, outcome: 'failed' });
    this.deps.log.error(
      { site: site.name, window: isServiceError(e) ? e.details?.window : undefined, err: e, code },
      'reporting: pull failed; the cursor stays at the last committed slice',
    );
    return 'failed';
  }

  /** One client per site for the worker's life: its token provider caches the token between runs. */
  #client(site: ReportingSite): SiteReportSource {
    let client = this.#clients.get(site.name);
    if (!client) {
      client = this.deps.sources(site, this.config.reporting);
      this.#clients.set(site.name, client);
    }
    return client;
  }

  /**
   * The failback re-read's part of a pull (see FailbackReread): for a site whose client can name
   * its primary, unless `failbackRereadMaxHours` is 0.
   */
  async #failbackPlan(
    site: ReportingSite,
    client: SiteReportSource,
    now: number,
    leader: Leadership,
  ): Promise<FailbackPlan> {
    if (!client.primary || this.config.reporting.failbackRereadMaxHours === 0) return {};
    const view = await client.primary(this.#abort.signal);
    return this.#failback.plan(site.name, view, now, () => leader.fence());
  }

  /**
   * A standby's lag is the committed cursor's (the leader's progress), read from the store: its
   * own last pull may be hours old, and the lag alert must not fire from standbys. A read that
   * fails leaves the last value; the next tick tries again.
   */
  async #readCommittedCursor(site: ReportingSite): Promise<void> {
    const cursor = await this.deps.store.state.getCursor(reportCursorKey(site)).catch(() => undefined);
    const ms = cursor === undefined ? NaN : Date.parse(cursor);
    const st = this.#state.get(site.name);
    if (st && !Number.isNaN(ms)) st.cursorMs = ms;
  }

  #lags(): Map<string, number> {
    const now = this.deps.clock.now();
    const out = new Map<string, number>();
    for (const [site, st] of this.#state) {
      // A site that never succeeded lags from the start of its initial lookback, so it alerts too.
      const since = st.cursorMs ?? st.lookbackStartMs;
      if (since !== undefined) out.set(site, Math.max(0, Math.round((now - since) / 1000)));
    }
    return out;
  }

  /** The /readyz entry: not ready while a site's last pull failed. */
  status(): ComponentStatus {
    if (this.#sites.length === 0)
      return { ready: true, reason: this.config.reporting.enabled ? 'no site has a reporting account' : 'disabled' };
    const lags = this.#lags();
    const sites = Object.fromEntries(
      [...this.#state].map(([name, st]) => [
        name,
        {
          cursor: st.cursorMs === undefined ? null : new Date(st.cursorMs).toISOString(),
          lagSeconds: lags.get(name) ?? null,
          lastRunAt: st.lastRunAt ?? null,
          lastSuccessAt: st.lastSuccessAt ?? null,
          lastSessions: st.lastSessions ?? null,
          lastError: st.lastError ?? null,
          failbackReread: st.failback
            ? {
                from: new Date(st.failback.fromMs).toISOString(),
                waitingForSyncAfter: new Date(st.failback.syncAfterMs).toISOString(),
              }
            : null,
        },
      ]),
    );
    if (this.#overdueSince !== undefined)
      return {
        ready: false,
        reason: `the pull started at ${new Date(this.#overdueSince).toISOString()} has not finished and the next one is due (reporting.schedule); see the log for the site it is on`,
        details: { sites },
      };
    const failing = [...this.#state].filter(([, st]) => st.lastError);
    if (failing.length > 0)
      return {
        ready: false,
        reason: failing.map(([n, st]) => `site ${n}: [${st.lastError!.code}] ${st.lastError!.message}`).join('; '),
        details: { sites },
      };
    return {
      ready: true,
      reason: this.#standby ? 'standby: another replica holds the reporting leadership' : 'ok',
      details: { sites },
    };
  }
}

/** Whether `p` settles (either way) within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the reporting unit's component (see ReportWorker). */
export function createReportWorker(config: ReportWorkerSettings, deps: ReportWorkerDeps): ReportWorker {
  return new ReportWorker(config, deps);
}
