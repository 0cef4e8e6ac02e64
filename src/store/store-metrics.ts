import { Counter, Histogram, metric, type Registry } from '../platform/metrics.js';

/** Metrics shared by the store adapters; labels are the adapter name and fixed outcomes only. */
export class StoreMetrics {
  readonly writeSeconds: Histogram<'adapter'>;
  readonly eventsWritten: Counter<'adapter'>;
  readonly failures: Counter<'adapter' | 'op' | 'code'>;

  constructor(
    registry: Registry,
    readonly adapter: 'pglite' | 'mssql',
  ) {
    this.writeSeconds = metric(
      registry,
      'ecm_bridge_store_write_duration_seconds',
      () =>
        new Histogram({
          name: 'ecm_bridge_store_write_duration_seconds',
          help: 'Time to write one batch of sessions (one transaction)',
          labelNames: ['adapter'],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    );
    this.eventsWritten = metric(
      registry,
      'ecm_bridge_store_events_written_total',
      () =>
        new Counter({
          name: 'ecm_bridge_store_events_written_total',
          help: 'session_event rows written to BGSessions',
          labelNames: ['adapter'],
          registers: [registry],
        }),
    );
    this.failures = metric(
      registry,
      'ecm_bridge_store_failures_total',
      () =>
        new Counter({
          name: 'ecm_bridge_store_failures_total',
          help: 'Store operations that failed, by error code',
          labelNames: ['adapter', 'op', 'code'],
          registers: [registry],
        }),
    );
    // Present from the start; sessions are counted once, by ecm_bridge_reporting_sessions_total.
    this.writeSeconds.zero({ adapter });
    this.eventsWritten.inc({ adapter }, 0);
  }

  /** Records a committed batch. */
  written(events: number, seconds: number): void {
    this.writeSeconds.observe({ adapter: this.adapter }, seconds);
    this.eventsWritten.inc({ adapter: this.adapter }, events);
  }

  failed(op: string, code: string): void {
    this.failures.inc({ adapter: this.adapter, op, code });
  }
}
