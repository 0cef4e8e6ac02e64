import { afterAll } from 'vitest';
import { openStore } from '../../src/app/open-store.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { MemoryStore } from '../../src/store/memory/store.js';
import type { Store } from '../../src/store/store-ports.js';
import { createTestDatabase, mssqlUrl, type TestDatabase } from './mssql-url.js';

/**
 * The stores replicas share in a test file, for `describe.each`: the in-memory reference and, with
 * MSSQL_URL, a SQL Server database of the file's own (`suite` names it), dropped after the file.
 */
export function sharedStores(suite: string): [string, () => Promise<Store>][] {
  const stores: [string, () => Promise<Store>][] = [['in-memory store', async () => new MemoryStore()]];
  let database: TestDatabase | undefined;
  afterAll(async () => database?.drop());
  if (mssqlUrl)
    stores.push([
      'SQL Server store',
      async () => {
        database = await createTestDatabase(suite);
        return openStore(database.config(), {
          log: silentLogger(),
          metrics: createMetricsRegistry({ defaultMetrics: false }),
        });
      },
    ]);
  return stores;
}
