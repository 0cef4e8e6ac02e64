import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { PgliteStore } from '../../../src/store/pglite/store.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';
import { lease } from './store-contract.js';

/**
 * PGlite's Postgres has no autovacuum (single-user mode), and every lease ends deleted: the
 * sweep's reclaim must vacuum, or the lease table would only grow.
 */
describe('PGlite store: the sweep reclaims the space of ended leases', () => {
  let store: PgliteStore;
  beforeAll(async () => {
    store = await PgliteStore.open('memory://', 0, silentLogger(), new StoreMetrics(createMetricsRegistry(), 'pglite'));
    await store.migrate();
  });
  afterAll(async () => store?.close());

  const size = async () =>
    (await store.db.query<{ b: number }>(`SELECT pg_relation_size('ecm_bridge.lease')::int AS b`)).rows[0]!.b;
  const cycles = async (from: number) => {
    for (let n = from; n < from + 200; n++) {
      await store.state.putLease(lease(`reclaim-${n}`, 'a', new Date(Date.UTC(2099, 0, 2))));
      await store.state.finishCheckin(`reclaim-${n}`, {});
    }
  };

  it('after reclaim, later leases reuse the space of ended ones: the table stops growing', async () => {
    await cycles(0);
    const grown = await size();
    // Without the vacuum each round of ended leases adds its pages (24 KiB after four rounds
    // against 8 KiB here); the statistics' dead-row count is not used: it is flushed lazily.
    for (const from of [200, 400, 600]) {
      await store.state.reclaim(new Date());
      await cycles(from);
    }
    expect(await size()).toBeLessThanOrEqual(grown);
  });
});
