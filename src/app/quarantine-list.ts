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
 * `report quarantine` without a running bridge holding the store: opens the configured store,
 * reads, closes. Nothing is migrated (a read needs no schema rights); a store whose schema
 * predates the quarantine fails naming the store.
 */
export async function readQuarantine(config: Config, log: Logger, limit: number): Promise<QuarantineList> {
  const store = await openStore(config.store, { log, metrics: createMetricsRegistry({ defaultMetrics: false }) });
  try {
    return await listQuarantine(store.reports, limit);
  } finally {
    await store.close();
  }
}
