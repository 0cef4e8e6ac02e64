import { Counter, Gauge, metric, type Registry } from '../platform/metrics.js';

/** The reporting worker's Prometheus metrics (labels: site names and outcomes only). */
export interface ReportMetrics {
  sessions: Counter<'site' | 'result'>;
  runs: Counter<'site' | 'outcome'>;
  lag: Gauge<'site'>;
  lastSuccess: Gauge<'site'>;
}

export function reportMetrics(registry: Registry, lagSeconds: () => Map<string, number>): ReportMetrics {
  return {
    sessions: metric(registry, 'ecm_bridge_reporting_sessions_total', () => new Counter({
      name: 'ecm_bridge_reporting_sessions_total', help: 'Sessions written to BGSessions, by site and result (inserted, updated)',
      labelNames: ['site', 'result'] as const, registers: [registry],
    })),
    runs: metric(registry, 'ecm_bridge_reporting_runs_total', () => new Counter({
      name: 'ecm_bridge_reporting_runs_total', help: 'Report pulls by site and outcome (ok, failed, standby)',
      labelNames: ['site', 'outcome'] as const, registers: [registry],
    })),
    lag: metric(registry, 'ecm_bridge_reporting_lag_seconds', () => new Gauge({
      name: 'ecm_bridge_reporting_lag_seconds', help: 'Now minus the committed report cursor, by site',
      labelNames: ['site'] as const, registers: [registry],
      collect() {
        for (const [site, lag] of lagSeconds()) this.set({ site }, lag);
      },
    })),
    lastSuccess: metric(registry, 'ecm_bridge_reporting_last_success_timestamp_seconds', () => new Gauge({
      name: 'ecm_bridge_reporting_last_success_timestamp_seconds', help: 'Unix time of the last successful pull, by site',
      labelNames: ['site'] as const, registers: [registry],
    })),
  };
}
