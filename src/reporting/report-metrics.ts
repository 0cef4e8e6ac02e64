import { Counter, Gauge, metric, type Registry } from '../platform/metrics.js';
import { REJECT_REASONS } from './report-store-port.js';

/** Per-site lag in seconds, as the running worker computes it. */
export type LagSource = () => Map<string, number>;

/**
 * The lag gauge of a registry outlives the worker that registered it (a reload builds a new
 * worker on the same registry and `metric()` hands back the registered gauge), so its collect()
 * reads whichever worker is current rather than closing over the first one.
 */
interface LagHolder {
  current: LagSource | undefined;
  /** Sites whose series exist already (a reload must not reset their last-success time). */
  sites: Set<string>;
}
const lagHolders = new WeakMap<Registry, LagHolder>();

function lagHolder(registry: Registry): LagHolder {
  let h = lagHolders.get(registry);
  if (!h) {
    h = { current: undefined, sites: new Set() };
    lagHolders.set(registry, h);
  }
  return h;
}

/** The reporting worker's Prometheus metrics (labels: site names and outcomes only). */
export interface ReportMetrics {
  sessions: Counter<'site' | 'result'>;
  /** Listed sessions deleted on the appliance before they were fetched: accounted for, never written. */
  vanished: Counter<'site'>;
  runs: Counter<'site' | 'outcome'>;
  /** Sessions that failed validation, quarantined (counted once each, when first quarantined). */
  rejected: Counter<'site' | 'reason'>;
  /** Failback re-reads done: pulls that re-read the window a primary change left owed (one per change). */
  failbacks: Counter<'site'>;
  lag: Gauge<'site'>;
  lastSuccess: Gauge<'site'>;
  /** Creates every series of `site` at zero, so dashboards and alerts see the site before its first pull. */
  site(site: string): void;
  /** Makes `source` the one the lag gauge reports (the worker's start()). */
  attachLag(source: LagSource): void;
  /** Stops reporting `source` if it is still the current one (the worker's stop()). */
  detachLag(source: LagSource): void;
}

export function reportMetrics(registry: Registry): ReportMetrics {
  const holder = lagHolder(registry);
  return {
    sessions: metric(
      registry,
      'ecm_bridge_reporting_sessions_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_sessions_total',
          help: 'Sessions written to BGSessions, by site and result (inserted, updated)',
          labelNames: ['site', 'result'] as const,
          registers: [registry],
        }),
    ),
    failbacks: metric(
      registry,
      'ecm_bridge_reporting_failback_rereads_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_failback_rereads_total',
          help: 'Failback re-reads done (one per primary change, after the first successful data sync that followed it), by site',
          labelNames: ['site'] as const,
          registers: [registry],
        }),
    ),
    vanished: metric(
      registry,
      'ecm_bridge_reporting_sessions_vanished_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_sessions_vanished_total',
          help: 'Listed sessions the appliance deleted before their full report was read (skipped, logged)',
          labelNames: ['site'] as const,
          registers: [registry],
        }),
    ),
    rejected: metric(
      registry,
      'ecm_bridge_reporting_sessions_rejected_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_sessions_rejected_total',
          help: 'Sessions that failed validation, quarantined and never stored, by site and reason (counted once each)',
          labelNames: ['site', 'reason'] as const,
          registers: [registry],
        }),
    ),
    runs: metric(
      registry,
      'ecm_bridge_reporting_runs_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_runs_total',
          help: 'Report pulls by site and outcome (ok, failed, standby)',
          labelNames: ['site', 'outcome'] as const,
          registers: [registry],
        }),
    ),
    lag: metric(
      registry,
      'ecm_bridge_reporting_lag_seconds',
      () =>
        new Gauge({
          name: 'ecm_bridge_reporting_lag_seconds',
          help: 'Now minus the committed report cursor, by site',
          labelNames: ['site'] as const,
          registers: [registry],
          collect() {
            // Reset first: a site gone from the current worker (or no worker at all) is not reported.
            this.reset();
            const source = holder.current;
            if (source) for (const [site, lag] of source()) this.set({ site }, lag);
          },
        }),
    ),
    lastSuccess: metric(
      registry,
      'ecm_bridge_reporting_last_success_timestamp_seconds',
      () =>
        new Gauge({
          name: 'ecm_bridge_reporting_last_success_timestamp_seconds',
          help: 'Unix time of the last successful pull, by site (0: never since start)',
          labelNames: ['site'] as const,
          registers: [registry],
        }),
    ),
    site(site) {
      if (holder.sites.has(site)) return;
      holder.sites.add(site);
      for (const result of ['inserted', 'updated']) this.sessions.inc({ site, result }, 0);
      for (const outcome of ['ok', 'failed', 'standby']) this.runs.inc({ site, outcome }, 0);
      this.lastSuccess.set({ site }, 0);
      this.vanished.inc({ site }, 0);
      this.failbacks.inc({ site }, 0);
      for (const reason of REJECT_REASONS) this.rejected.inc({ site, reason }, 0);
    },
    attachLag(source) {
      holder.current = source;
    },
    detachLag(source) {
      if (holder.current === source) holder.current = undefined;
    },
  };
}
