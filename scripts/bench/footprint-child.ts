/**
 * One measurement of scripts/bench/process-footprint.ts in a fresh process: opens (or creates) a
 * PGlite data directory either as the bridge's store does or with PGlite's defaults, touches the
 * state tables when they exist (PGlite alone creates none), and prints `{"openMs":…,"rssMiB":…}`
 * after a full GC.
 *
 *   node --expose-gc --import tsx scripts/bench/footprint-child.ts bridge|defaults DATA_DIR
 */
import { PGlite } from '@electric-sql/pglite';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { PgliteStore } from '../../src/store/pglite/store.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';

const [mode, dir] = process.argv.slice(2);
const t0 = performance.now();
let query: (sql: string) => Promise<{ rows: unknown[] }>;
let close: () => Promise<void>;
if (mode === 'bridge') {
  const store = await PgliteStore.open(
    dir!,
    5000,
    silentLogger(),
    new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
  );
  await store.migrate();
  query = (sql) => store.db.query(sql);
  close = () => store.close();
} else {
  const db = await PGlite.create(dir!);
  query = (sql) => db.query(sql);
  close = () => db.close();
}
const openMs = performance.now() - t0;
const schema = await query(`SELECT 1 FROM pg_namespace WHERE nspname = 'ecm_bridge'`);
if (schema.rows.length > 0) {
  await query('SELECT count(*) FROM ecm_bridge.lease');
  await query('SELECT count(*) FROM session_event');
}
(globalThis as { gc?: () => void }).gc?.();
console.log(JSON.stringify({ openMs, rssMiB: process.memoryUsage().rss / 2 ** 20 }));
await close();
