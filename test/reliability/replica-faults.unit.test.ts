import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { MemoryStateStore } from '../../src/store/memory-store.js';
import { brokerHarness, ctx, T0 } from '../unit/broker/broker-fixture.js';

// Issue 29: replicas under faults. Two brokers on one store and one vault are two replicas.
type Harness = ReturnType<typeof brokerHarness>;

async function checkOut(h: Harness, lsid = 'c0ffee01') {
  const c = ctx({ session: { lsid, externalKey: 'CHG-1' } });
  const id = (await h.broker.handle('credentials.list', c, {}, h.signal)).credentials[0]!.id;
  return { c, credential: (await h.broker.handle('credentials.get', c, { credentialId: id }, h.signal)).credential };
}

function replicas(options: { sharedStore?: boolean } = {}) {
  const clock = new ManualClock(T0);
  const state = new MemoryStateStore();
  const a = brokerHarness({ clock, state, instanceId: 'instance-a', ...options });
  const b = brokerHarness({ clock, state, instanceId: 'instance-b', vault: a.vault, ...options });
  return { clock, state, a, b, vault: a.vault };
}

describe('release is durable before it is answered (issue 29, point 1)', () => {
  it('a replica killed while its release waits on the vault leaves the check-in owed: a survivor ends it, audit final', async () => {
    const { clock, state, a, b, vault } = replicas();
    await a.broker.start();
    await b.broker.start();
    const { c, credential } = await checkOut(a);
    // The vault does not answer A's check-in; A dies (kill -9) while it waits.
    const checkin = vault.checkin.bind(vault);
    vault.checkin = () => new Promise<void>(() => undefined);
    void a.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, a.signal).catch(() => undefined);
    // The owed check-in is on record before the vault is asked.
    await vi.waitFor(() =>
      expect(state.leases.get(credential.leaseId)?.checkinRetry).toMatchObject({ attempts: 0, reason: 'release' }),
    );
    await a.broker.stop(0, 'reload'); // its loops end: nothing of A runs any more
    vault.checkin = checkin;

    // B's sweep takes the check-in up once A's claim lapses (staleAfterSeconds, 90 s) and ends it.
    await clock.advance(90_000);
    await vi.waitFor(() => expect(vault.openRequests()).toEqual([]));
    await vi.waitFor(() => expect(state.leases.size).toBe(0));
    expect((await state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinBy: 'instance-b',
      checkinReason: 'release',
    });
    await b.broker.stop(1000);
  });
});
