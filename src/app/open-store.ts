import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { StoreConfig } from '../store/store-config.js';
import type { Registry } from '../platform/metrics.js';
import { StoreMetrics } from '../store/store-metrics.js';
import type { Store } from '../store/store-ports.js';

export const DEFAULT_LOCK_WAIT_MS = 10_000;

/**
 * Builds the configured Store adapter and connects it (PGlite: opens the data directory under
 * its lock file; SQL Server: connects the pool). Does not migrate: callers decide when
 * (`db migrate`, the store unit at service start). Each adapter (PGlite's WebAssembly, the mssql
 * driver) is loaded only when configured, so commands that never open a store start without it.
 */
export async function openStore(
  config: StoreConfig,
  deps: { log: Logger; metrics: Registry; clock?: Clock },
): Promise<Store> {
  const log = deps.log.child({ component: 'store', adapter: config.kind === 'embedded' ? 'pglite' : 'mssql' });
  if (config.kind === 'embedded') {
    const { PgliteStore } = await import('../store/pglite-store.js');
    return PgliteStore.open(
      config.dataDir,
      config.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
      log,
      new StoreMetrics(deps.metrics, 'pglite'),
    );
  }
  const { MssqlStore } = await import('../store/mssql-store.js');
  return MssqlStore.open(config, log, new StoreMetrics(deps.metrics, 'mssql'), deps.clock);
}
