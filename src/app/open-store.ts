import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { DEFAULT_LOCK_WAIT_MS } from '../store/pglite/data-dir-lock.js';
import type { StoreConfig } from '../store/store-config.js';
import type { Registry } from '../platform/metrics.js';
import { StoreMetrics } from '../store/store-metrics.js';
import type { Store } from '../store/store-ports.js';
import type { EarlyStoreOpen } from './early-store.js';

/**
 * Builds the configured Store adapter and connects it (PGlite: opens the data directory under
 * its lock file; SQL Server: connects the pool). Does not migrate: callers decide when
 * (`db migrate`, the store unit at service start). Each adapter (PGlite's WebAssembly, the mssql
 * driver) is loaded only when configured, so commands that never open a store start without it.
 * `early` is `serve`'s open begun before the config was validated: used when it is of this
 * config's data directory, closed otherwise.
 */
export async function openStore(
  config: StoreConfig,
  deps: { log: Logger; metrics: Registry; clock?: Clock },
  early?: EarlyStoreOpen,
): Promise<Store> {
  const log = deps.log.child({ component: 'store', adapter: config.kind === 'embedded' ? 'pglite' : 'mssql' });
  const cluster = await early?.take(config);
  if (config.kind === 'embedded') {
    const { PgliteStore } = await import('../store/pglite/store.js');
    const metrics = new StoreMetrics(deps.metrics, 'pglite');
    return cluster
      ? PgliteStore.on(cluster, log, metrics)
      : PgliteStore.open(config.dataDir, config.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, log, metrics);
  }
  const { MssqlStore } = await import('../store/mssql/store.js');
  return MssqlStore.open(config, log, new StoreMetrics(deps.metrics, 'mssql'), deps.clock);
}
