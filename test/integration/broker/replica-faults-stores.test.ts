import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../../src/app/open-store.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import type { Store } from '../../../src/store/store-ports.js';
import { createTestDatabase, mssqlUrl, reportSkipped, type TestDatabase } from '../../helpers/mssql-url.js';
import { brokerHarness, ctx, T0 } from '../../unit/broker/broker-fixture.js';
import { HANG } from '../../helpers/until.js';
import { freezable, freezeCheckout } from '../../helpers/freeze.js';

// Issue 29 on the real stores: two in-process replicas (brokers with their own instance ids) on
// one PGlite or SQL Server (T-SQL engine) database and one vault, an injected clock. The same
// scenarios as test/reliability/replica-faults.unit.test.ts, through the SQL of each adapter (the
// shared-outage scenario stays there: it needs every heartbeat to run between two steps of the
// clock, which real database round trips do not guarantee).
reportSkipped('replica faults on SQL Server');
const metrics = () => createMetricsRegistry({ defaultMetrics: false });

function scenarios(name: string, open: () => Promise<Store>, sharedStore: boolean) {
  describe(`replicas under faults: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => store?.close());

    // Each scenario has its own clock far from the others', so leases and heartbeats of one never
    // look expired or stale to another (they share the database).
    const replicas = (startMs: number) => {
      const clock = new ManualClock(startMs);
      // A reaches the store through a view the test can freeze (SIGSTOP).
      const frozenA = freezable(store.state);
      const a = brokerHarness({ clock, state: frozenA.view, instanceId: `a-${startMs}`, sharedStore });
      const b = brokerHarness({ clock, state: store.state, instanceId: `b-${startMs}`, vault: a.vault, sharedStore });
      return { clock, a, b, vault: a.vault, frozenA };
    };
    const checkOut = async (h: ReturnType<typeof brokerHarness>, lsid: string) => {
      const c = ctx({ session: { lsid, externalKey: 'CHG-1' } });
      const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
      return {
        c,
        credential: (await h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).credential,
      };
    };
    const audit = async (lsid: string) => (await store.state.listCredentialEvents({ lsid }))[0];

    it('kill -9 while the vault holds a release: the check-in stays owed and a survivor ends it, audit final', async () => {
      const { clock, a, b, vault } = replicas(T0);
      await a.broker.start();
      await b.broker.start();
      const { c, credential } = await checkOut(a, 'ha-owed');
      const checkin = vault.checkin.bind(vault);
      vault.checkin = () => new Promise<void>(() => undefined);
      void a.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, a.signal).catch(() => undefined);
      await vi.waitFor(
        async () => expect((await store.state.getLease(credential.leaseId))?.checkinRetry?.reason).toBe('release'),
        HANG,
      );
      await a.broker.stop(0, 'reload');
      vault.checkin = checkin;
      // The clock moves on until a survivor's sweep ended the owed check-in (each step lets the
      // loops make their database round trips; the claim lapses after 90 s).
      await vi.waitFor(async () => {
        await clock.advance(15_000);
        expect(await store.state.getLease(credential.leaseId)).toBeUndefined();
      }, HANG);
      expect(vault.openRequests()).toEqual([]);
      expect(await audit('ha-owed')).toMatchObject({ outcome: 'checked_in', checkinReason: 'release' });
      await b.broker.stop(0, 'reload');
    });

    it('a replica frozen between its intent and the confirm, fenced meanwhile: the confirm is refused, the request handed back', async () => {
      const { clock, a, b, vault, frozenA } = replicas(T0 + 86_400_000);
      await a.broker.start();
      await b.broker.start();
      const c = ctx({ session: { lsid: 'ha-fenced', externalKey: 'CHG-1' } });
      const id = (await a.broker.handle('credentials.list', c, {}, a.signal)).credentials[0]!.id;
      const frozen = freezeCheckout(vault, 'after');
      const get = a.broker.handle('credentials.get', c, { credentialId: id }, a.signal).then(
        () => 'a credential was answered',
        (e: unknown) => e,
      );
      await vi.waitFor(() => expect(frozen.reached()).toBe(true), HANG);
      frozenA.freeze();
      // B fences A and recovers the intent (finds the request, checks it in) once A is stale.
      await vi.waitFor(async () => {
        await clock.advance(15_000);
        expect(vault.openRequests()).toEqual([]);
        expect(await audit('ha-fenced')).toMatchObject({ outcome: 'failed', checkinReason: 'recovery' });
      }, HANG);
      frozen.resume();
      frozenA.thaw();
      expect(await get).toMatchObject({ code: 'store.fenced', retryable: true });
      expect(vault.openRequests()).toEqual([]);
      expect(await store.state.listLeases({ owner: `a-${T0 + 86_400_000}` })).toEqual([]);
      await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
    });

    it.runIf(sharedStore)(
      'a graceful stop among several hands the leases over; the console releases on the survivor',
      async () => {
        const { a, b, vault } = replicas(T0 + 2 * 86_400_000);
        await a.broker.start();
        await b.broker.start();
        const { c, credential } = await checkOut(a, 'ha-handover');
        await a.broker.stop(1000);
        expect(vault.openRequests()).toHaveLength(1);
        expect((await store.state.getLease(credential.leaseId))?.owner).toBe(`b-${T0 + 2 * 86_400_000}`);
        await b.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, b.signal);
        expect(vault.openRequests()).toEqual([]);
        expect(await audit('ha-handover')).toMatchObject({ outcome: 'checked_in', checkinReason: 'release' });
        await b.broker.stop(0, 'reload');
      },
    );
  });
}

scenarios(
  'PGlite',
  async () => {
    const store = await openStore(
      { kind: 'embedded', dataDir: 'memory://' },
      { log: silentLogger(), metrics: metrics() },
    );
    await store.migrate();
    return store;
  },
  false,
);

let db: TestDatabase | undefined;
describe.skipIf(!mssqlUrl)('SQL Server (MSSQL_URL)', () => {
  beforeAll(async () => {
    db = await createTestDatabase('replica faults');
  }, 60_000);
  afterAll(async () => db?.drop());
  scenarios(
    'SQL Server',
    async () => {
      const store = await openStore(db!.config(), { log: silentLogger(), metrics: metrics() });
      await store.migrate();
      return store;
    },
    true,
  );
});
