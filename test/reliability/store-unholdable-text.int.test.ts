import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { PgliteStore } from '../../src/store/pglite/store.js';
import { NUL_MARKER } from '../../src/store/session-rows.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';
import { makeEvent, makeSession } from '../integration/store/session-fixture.js';

/**
 * Postgres text cannot hold U+0000 (nor a lone surrogate). A chat line carrying one used to fail
 * its batch with store.write_failed on every pull: the site's cursor never moved again.
 */
describe('report text the store cannot hold', () => {
  let store: PgliteStore;
  beforeAll(async () => {
    store = await PgliteStore.open(
      'memory://',
      0,
      silentLogger(),
      new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
    );
    await store.migrate();
  });
  afterAll(async () => store?.close());

  it('stores NUL as the documented marker and a lone surrogate as U+FFFD; the cursor moves', async () => {
    const base = makeSession('nul-session-1');
    const start = base.startTime;
    const session = makeSession('nul-session-1', {
      externalKey: 'CHG\u00001',
      events: [makeEvent(0, start, 'before\u0000after \ud800 end'), makeEvent(1, start)],
    });
    const result = await store.reports.writeSessions([session], { key: 'reporting/test/AccessSession', value: 'c1' });
    expect(result).toEqual({ inserted: 1, updated: 0 });
    const back = await store.reports.readSession(session.hostName, 'nul-session-1');
    expect(back?.externalKey).toBe(`CHG${NUL_MARKER}1`);
    expect(back?.events[0]?.body).toBe(`before${NUL_MARKER}after \ufffd end`);
    expect(NUL_MARKER).toBe('\u2400');
    expect(await store.state.getCursor('reporting/test/AccessSession')).toBe('c1');
  });
});
