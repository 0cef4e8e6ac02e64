import type { Logger } from 'pino';
import type { QuarantineView } from '../http/status-view.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import type { ReportStore } from '../reporting/report-store-port.js';
import type { Config } from './config-schema.js';
import { openStore } from './open-store.js';

/** The quarantined sessions as the status page and `report quarantine` show them (times as ISO text). */
export interface QuarantineList {
  total: number;
  shown: QuarantineView[];
}

/** The most `report quarantine --limit` may ask for: the list is for reading, not an export. */
export const QUARANTINE_LIMIT_MAX = 1000;

/** The `limit` quarantined sessions seen last, and how many there are. */
export async function listQuarantine(reports: ReportStore, limit: number): Promise<QuarantineList> {
  const { total, entries } = await reports.quarantined(limit);
  return {
    total,
    shown: entries.map((e) => ({
      site: e.site,
      lsid: e.lsid,
      reason: e.reason,
      detail: e.detail,
      window: e.window,
      firstSeenAt: e.firstSeenAt.toISOString(),
      lastSeenAt: e.lastSeenAt.toISOString(),
    })),
  };
}

/**
 * A `report` listing without a running bridge holding the store: opens the configured store,
 * reads, closes. Nothing is migrated (a read needs no schema rights); a store whose schema
 * predates the table read fails naming the store.
 */
export async function readFromStore<T>(config: Config, log: Logger, read: (reports: ReportStore) => Promise<T>) {
  const store = await openStore(config.store, { log, metrics: createMetricsRegistry({ defaultMetrics: false }) });
  try {
    return await read(store.reports);
  } finally {
    await store.close();
  }
}

/** `report quarantine` without a running bridge holding the store (see readFromStore). */
export function readQuarantine(config: Config, log: Logger, limit: number): Promise<QuarantineList> {
  return readFromStore(config, log, (reports) => listQuarantine(reports, limit));
}
