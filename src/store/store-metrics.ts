import { Counter, Histogram, metric, type Registry } from '../platform/metrics.js';

/** Metrics shared by the store adapters; labels are the adapter name and fixed outcomes only. */
export class StoreMetrics {
  readonly writeSeconds: Histogram<'adapter'>;
  readonly sessionsWritten: Counter<'adapter' | 'result'>;
  readonly eventsWritten: Counter<'adapter'>;
  readonly failures: Counter<'adapter' | 'op' | 'code'>;

  constructor(
    registry: Registry,
    readonly adapter: 'pglite' | 'mssql',
  ) {
    this.writeSeconds = metric(
      registry,
      'ecm_bridge_store_write_seconds',
      () =>
        new Histogram({
          name: 'ecm_bridge_store_write_seconds',
          help: 'Time to write one batch of sessions (one transaction)',
          labelNames: ['adapter'],
          buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
          registers: [registry],
        }),
    );
    this.sessionsWritten = metric(
      registry,
      'ecm_bridge_store_sessions_written_total',
      () =>
        new Counter({
          name: 'ecm_bridge_store_sessions_written_total',
          help: 'Sessions written to BGSessions, by whether the row was new',
          labelNames: ['adapter', 'result'],
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
  }

  /** Records a committed batch. */
  written(result: { inserted: number; updated: number }, events: number, seconds: number): void {
    this.writeSeconds.observe({ adapter: this.adapter }, seconds);
    this.sessionsWritten.inc({ adapter: this.adapter, result: 'inserted' }, result.inserted);
    this.sessionsWritten.inc({ adapter: this.adapter, result: 'updated' }, result.updated);
    this.eventsWritten.inc({ adapter: this.adapter }, events);
  }

  failed(op: string, code: string): void {
    this.failures.inc({ adapter: this.adapter, op, code });
  }
}
