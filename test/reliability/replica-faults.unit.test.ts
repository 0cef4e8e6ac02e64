import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { ServiceError } from '../../src/platform/errors.js';
import { MemoryStateStore } from '../../src/store/memory/store.js';
import { brokerHarness, ctx, T0 } from '../unit/broker/broker-fixture.js';
import { HANG } from '../helpers/until.js';
import { freezable, freezeCheckout } from '../helpers/freeze.js';

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
  const frozenA = freezable(state);
  const a = brokerHarness({ clock, state: frozenA.view, instanceId: 'instance-a', ...options });
  const b = brokerHarness({ clock, state, instanceId: 'instance-b', vault: a.vault, ...options });
  return { clock, state, a, b, vault: a.vault, frozenA };
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
    await vi.waitFor(
      () =>
        expect(state.leases.get(credential.leaseId)?.checkinRetry).toMatchObject({ attempts: 0, reason: 'release' }),
      HANG,
    );
    await a.broker.stop(0, 'reload'); // its loops end: nothing of A runs any more
    vault.checkin = checkin;

    // B's sweep takes the check-in up once A's claim lapses (staleAfterSeconds, 90 s) and ends it.
    await clock.advance(90_000);
    await vi.waitFor(() => expect(vault.openRequests()).toEqual([]), HANG);
    await vi.waitFor(() => expect(state.leases.size).toBe(0), HANG);
    expect((await state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinBy: 'instance-b',
      checkinReason: 'release',
    });
    // Still the console's release, so the configured template names the console user.
    expect([...vault.requests.values()].map((r) => r.checkinReason)).toEqual([
      'ecm-bridge: released by CORP\\jdoe session c0ffee01',
    ]);
    await b.broker.stop(1000);
  });
});

/** Makes the store refuse the heartbeats of the named instances (their link to the database is down). */
function cutHeartbeats(state: MemoryStateStore) {
  const down = new Set<string>();
  const touch = state.touchInstance.bind(state);
  const renew = state.renewInstance.bind(state);
  state.touchInstance = async (id, at, epoch) => {
    if (down.has(id)) throw new Error(`store unreachable from ${id}`);
    return touch(id, at, epoch);
  };
  state.renewInstance = async (fence, at) => {
    if (down.has(fence.instanceId)) throw new Error(`store unreachable from ${fence.instanceId}`);
    return renew(fence, at);
  };
  return down;
}

async function tick(clock: ManualClock, seconds: number, times = 1) {
  for (let i = 0; i < times; i++) {
    await clock.advance(seconds * 1000);
    // Let the loops woken by this step run to their next sleep.
    for (let j = 0; j < 20; j++) await new Promise((r) => setImmediate(r));
  }
}

describe('fencing, not only staleness (issue 29, point 2)', () => {
  it('a database outage every replica shared does not make a live replica look dead', async () => {
    const { clock, state, a, b, vault } = replicas({ sharedStore: true });
    const down = cutHeartbeats(state);
    await a.broker.start();
    await b.broker.start();
    await tick(clock, 15, 8); // both have had the store for 120 s
    const { credential } = await checkOut(a);
    down.add('instance-a').add('instance-b');
    await tick(clock, 15, 7); // 105 s without a heartbeat, for both
    down.delete('instance-b'); // B reaches the database first, A 15 s later
    await tick(clock, 15, 1);
    down.delete('instance-a');
    await tick(clock, 15, 8);
    // A's console still holds its credential: nobody recovered it.
    expect(vault.openRequests()).toHaveLength(1);
    expect(state.leases.get(credential.leaseId)?.checkinRetry).toBeUndefined();
    expect(a.lines.join('')).not.toContain('presumed dead');
    await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
  });

  it('a replica silent while the others had the store is fenced: its leases are recovered, and when it comes back it says so', async () => {
    const { clock, state, a, b, vault } = replicas({ sharedStore: true });
    const down = cutHeartbeats(state);
    await a.broker.start();
    await b.broker.start();
    await tick(clock, 15, 8);
    await checkOut(a);
    down.add('instance-a'); // frozen, or cut off, while B has the database
    await tick(clock, 15, 9);
    await vi.waitFor(() => expect(vault.openRequests()).toEqual([]), HANG);
    expect((await state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinBy: 'instance-b',
      checkinReason: 'recovery',
    });
    expect(state.instances.has('instance-a')).toBe(false); // fenced: its row is gone
    // Password Safe's audit says who ended the checkout and why, not "released by" the console user.
    expect([...vault.requests.values()].map((r) => r.checkinReason)).toEqual([
      'ecm-bridge: bridge instance instance-a presumed dead, recovered by instance-b (checked out for CORP\\jdoe session c0ffee01)',
    ]);
    down.delete('instance-a');
    await tick(clock, 15, 1);
    await vi.waitFor(() => expect(a.lines.join('')).toContain('presumed dead and fenced by another'), HANG);
    await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
  });
});

describe('fencing tokens: a replica fenced while frozen writes nothing on resume (issue 29, point 2)', () => {
  it.each(['before', 'after'] as const)(
    'frozen between its intent and the confirm (%s the vault made the request) past staleAfterSeconds: no credential without a lease, none left open, audit final',
    async (when) => {
      const { clock, state, a, b, vault, frozenA } = replicas({ sharedStore: true });
      await a.broker.start();
      await b.broker.start();
      await tick(clock, 15, 8);
      const c = ctx({ session: { lsid: 'c0ffee04', externalKey: 'CHG-1' } });
      const id = (await a.broker.handle('credentials.list', c, {}, a.signal)).credentials[0]!.id;
      const frozen = freezeCheckout(vault, when);
      const get = a.broker.handle('credentials.get', c, { credentialId: id }, a.signal).then(
        () => 'a credential was answered',
        (e: unknown) => e,
      );
      await vi.waitFor(() => expect(frozen.reached()).toBe(true), HANG);
      expect([...state.leases.values()].map((l) => l.vaultRequestId)).toEqual([null]); // the intent
      frozenA.freeze(); // the whole process: no heartbeat, no sweep either

      // B has had the store for staleAfterSeconds while A was silent: it fences A and recovers the
      // intent (checks the request in if it exists, else drops the intent).
      await tick(clock, 15, 12);
      await vi.waitFor(() => expect(state.leases.size).toBe(0), HANG);
      expect(state.instances.has('instance-a')).toBe(false);

      frozen.resume(); // SIGCONT: A goes on with the get, and its heartbeat
      frozenA.thaw();
      expect(await get).toMatchObject({ code: 'store.fenced', retryable: true });
      expect(vault.openRequests()).toEqual([]); // handed back, or checked in by B
      expect(state.leases.size).toBe(0); // nothing re-created
      expect((await state.listCredentialEvents({ lsid: 'c0ffee04' })).map((e) => e.outcome)).toEqual(['failed']);
      expect(a.lines.join('')).toContain('fenced by another while a checkout was under way');

      // A's next heartbeat finds its row gone, says so and rejoins under a new epoch: it serves again.
      await tick(clock, 15, 1);
      await vi.waitFor(() => expect(a.lines.join('')).toContain('presumed dead and fenced by another'), HANG);
      const again = await checkOut(a, 'c0ffee05');
      expect(state.leases.get(again.credential.leaseId)?.vaultRequestId).toBeTruthy();
      await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
    },
  );

  it('frozen inside a check-in that then fails: the lease recovery ended is not re-created', async () => {
    const { clock, state, a, b, vault, frozenA } = replicas({ sharedStore: true });
    await a.broker.start();
    await b.broker.start();
    await tick(clock, 15, 8);
    const { c, credential } = await checkOut(a);
    const checkin = vault.checkin.bind(vault);
    let fail!: () => void;
    const failing = new Promise<void>((_, reject) => {
      fail = () => reject(new ServiceError('vault.unavailable', 'the check-in timed out'));
    });
    let reached = false;
    vault.checkin = () => {
      vault.checkin = checkin;
      reached = true;
      return failing;
    };
    const release = a.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, a.signal).then(
      () => 'released',
      (e: unknown) => e,
    );
    await vi.waitFor(() => expect(reached).toBe(true), HANG);
    frozenA.freeze(); // frozen inside the vault call

    // A's claim lapses; B fences A and ends the owed check-in.
    await tick(clock, 15, 12);
    await vi.waitFor(() => expect(state.leases.size).toBe(0), HANG);
    expect(vault.openRequests()).toEqual([]);

    fail(); // A resumes: its check-in failed; it would record the retry
    frozenA.thaw();
    expect(await release).toMatchObject({ code: 'store.fenced', retryable: true });
    expect(state.leases.size).toBe(0);
    expect((await state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinBy: 'instance-b',
      checkinReason: 'release',
    });
    expect(a.lines.join('')).toContain('the check-in is left to it');
    // The console asks again: its lease is gone and was released as it asked.
    await tick(clock, 15, 1);
    expect(await a.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, a.signal)).toEqual({
      released: true,
    });
    await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
  });
});

describe('hand-over, not check-in, on a graceful stop (issue 29, point 8)', () => {
  it('a replica stopping among several hands its leases to a live one; the last replica checks them in', async () => {
    const { clock, state, a, b, vault } = replicas({ sharedStore: true });
    await a.broker.start();
    await b.broker.start();
    const { c, credential } = await checkOut(a);
    await tick(clock, 15, 1);
    await a.broker.stop(1000); // SIGTERM of A during a rolling restart
    // The console keeps its credential; B adopted the lease.
    expect(vault.openRequests()).toHaveLength(1);
    expect(state.leases.get(credential.leaseId)?.owner).toBe('instance-b');
    expect(state.instances.has('instance-a')).toBe(false);
    expect(a.lines.join('')).toContain('leases handed over to another replica');
    // The console's release, now answered by B, checks it in as a release.
    await b.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, b.signal);
    expect(vault.openRequests()).toEqual([]);
    expect((await state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinReason: 'release',
    });

    // B is the last replica: its graceful stop checks its leases in.
    const second = await checkOut(b, 'c0ffee02');
    await b.broker.stop(1000);
    expect(vault.openRequests()).toEqual([]);
    expect(state.leases.has(second.credential.leaseId)).toBe(false);
  });
});

describe('the database gone for a minute (issue 29, point 3)', () => {
  it('list serves, a get is refused retryable, a release checks in at the vault at once and is recorded when the store is back', async () => {
    const h = brokerHarness();
    await h.broker.start();
    const { c, credential } = await checkOut(h);
    const offline = new ServiceError('store.unavailable', 'the database kept failing');
    const saved = {
      openLease: h.state.openLease,
      claimCheckin: h.state.claimCheckin,
      touch: h.state.touchInstance,
      renew: h.state.renewInstance,
    };
    const fail = () => Promise.reject(offline);
    Object.assign(h.state, { openLease: fail, claimCheckin: fail, touchInstance: fail, renewInstance: fail });

    const listed = await h.broker.handle('credentials.list', c, {}, h.signal);
    expect(listed.credentials.length).toBeGreaterThan(0);
    const get = await h.broker
      .handle('credentials.get', c, { credentialId: listed.credentials[1]!.id }, h.signal)
      .catch((e: unknown) => e);
    expect(get).toMatchObject({ code: 'store.unavailable', retryable: true });
    expect(h.vault.openRequests()).toHaveLength(1); // the get never asked the vault

    await h.broker.handle('credentials.release', c, { leaseId: credential.leaseId }, h.signal);
    expect(h.vault.openRequests()).toEqual([]); // checked in at once, the database still gone
    expect(h.state.leases.has(credential.leaseId)).toBe(true);

    Object.assign(h.state, {
      openLease: saved.openLease,
      claimCheckin: saved.claimCheckin,
      touchInstance: saved.touch,
      renewInstance: saved.renew,
    });
    await tick(h.clock, 15, 1); // the next heartbeat reaches the store and records the journal
    await vi.waitFor(() => expect(h.state.leases.has(credential.leaseId)).toBe(false), HANG);
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'checked_in',
      checkinReason: 'release',
      checkinAt: new Date(T0),
    });
    await h.broker.stop(1000);
  });
});

describe('the database gone between the vault’s answer and the lease (issue 29, points 3 and 10)', () => {
  it('the request the vault made is checked in once the store is back, not left open until the lease expires', async () => {
    // Found by the HA campaign (test/ha): a get in flight when the database went away had its
    // intent written and its vault request made, then could neither confirm the lease, ask
    // whether another lease holds the request, nor end the intent: the request stayed open.
    const h = brokerHarness();
    await h.broker.start();
    const c = ctx({ session: { lsid: 'c0ffee02', externalKey: 'CHG-1' } });
    const listed = await h.broker.handle('credentials.list', c, {}, h.signal);
    const offline = new ServiceError('store.unavailable', 'the database kept failing');
    const fail = () => Promise.reject(offline);
    const ops = [
      'confirmLease',
      'holdsRequest',
      'finishCheckin',
      'putLease',
      'updateCredentialEvent',
      'touchInstance',
      'renewInstance',
    ] as const;
    const saved = Object.fromEntries(ops.map((op) => [op, h.state[op]]));
    Object.assign(h.state, Object.fromEntries(ops.map((op) => [op, fail])));

    const get = await h.broker
      .handle('credentials.get', c, { credentialId: listed.credentials[0]!.id }, h.signal)
      .catch((e: unknown) => e);
    expect(get).toMatchObject({ code: 'store.unavailable', retryable: true });
    expect(h.vault.openRequests()).toHaveLength(1); // made, never delivered

    Object.assign(h.state, saved);
    await tick(h.clock, 15, 6); // heartbeats reach the store again; sweeps run
    await vi.waitFor(() => expect(h.vault.openRequests()).toEqual([]));
    await vi.waitFor(() => expect(h.state.leases.size).toBe(0));
    expect((await h.state.listCredentialEvents({}))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'store.unavailable',
    });
    await h.broker.stop(1000);
  });

  it('a checkout intent written but its answer lost is ended once the store is back: no lease left, audit row final', async () => {
    // Found by the HA campaign too: the intent's statement reached the database, its answer did
    // not, and the get was refused retryable; the intent stayed `requested` with a lease nobody
    // ended until its expiry.
    const h = brokerHarness();
    await h.broker.start();
    const c = ctx({ session: { lsid: 'c0ffee03', externalKey: 'CHG-1' } });
    const listed = await h.broker.handle('credentials.list', c, {}, h.signal);
    const offline = new ServiceError('store.unavailable', 'the connection was lost');
    const fail = () => Promise.reject(offline);
    const ops = [
      'finishCheckin',
      'updateCredentialEvent',
      'recordCredentialEvent',
      'touchInstance',
      'renewInstance',
    ] as const;
    const saved = { ...Object.fromEntries(ops.map((op) => [op, h.state[op]])), openLease: h.state.openLease };
    const open = h.state.openLease.bind(h.state);
    Object.assign(h.state, Object.fromEntries(ops.map((op) => [op, fail])), {
      openLease: async (...args: Parameters<typeof open>) => {
        await open(...args);
        throw offline;
      },
    });

    const get = await h.broker
      .handle('credentials.get', c, { credentialId: listed.credentials[0]!.id }, h.signal)
      .catch((e: unknown) => e);
    expect(get).toMatchObject({ code: 'store.unavailable', retryable: true });
    expect(h.state.leases.size).toBe(1); // written, its answer lost

    Object.assign(h.state, saved);
    await tick(h.clock, 15, 2);
    await vi.waitFor(() => expect(h.state.leases.size).toBe(0));
    expect((await h.state.listCredentialEvents({})).map((e) => e.outcome)).toEqual(['failed']);
    expect(h.vault.openRequests()).toEqual([]);
    await h.broker.stop(1000);
  });
});

describe('a console whose credential was checked in behind its back is told so on release (issue 29, point 8)', () => {
  const release = (h: Harness, c: ReturnType<typeof ctx>, leaseId: string) =>
    h.broker.handle('credentials.release', c, { leaseId }, h.signal);

  it('after its expiry: released, already checked in at expiry and when; a repeat of a console release says nothing more', async () => {
    const h = brokerHarness();
    await h.broker.start();
    const { c, credential } = await checkOut(h);
    const expiresAt = Date.parse(credential.expiresAt);
    await h.clock.advance(expiresAt - h.clock.now() + 1000); // past the expiry: the next sweep ends it
    await tick(h.clock, 30, 1);
    await vi.waitFor(() => expect(h.state.leases.size).toBe(0), HANG);
    const [row] = await h.state.listCredentialEvents({});
    expect(row).toMatchObject({ outcome: 'expired', checkinReason: 'expiry' });

    expect(await release(h, c, credential.leaseId)).toEqual({
      released: true,
      alreadyCheckedIn: { reason: 'expiry', at: row!.checkinAt!.toISOString() },
    });
    // Another console user learns nothing of it; an unknown lease id gets the usual answer.
    const other = ctx({ user: { username: 'CORP\\mallory' }, session: { lsid: 'c0ffee01' } });
    expect(await release(h, other, credential.leaseId)).toEqual({ released: true });
    expect(await release(h, c, '5b0e3a52-0000-4000-8000-000000000000')).toEqual({ released: true });

    // Released by the console itself: the first answer and every repeat are plain.
    const second = await checkOut(h, 'c0ffee02');
    expect(await release(h, second.c, second.credential.leaseId)).toEqual({ released: true });
    expect(await release(h, second.c, second.credential.leaseId)).toEqual({ released: true });
    // The log names the lease by its prefix only.
    expect(h.lines.join('')).toContain('released a lease the bridge had already checked in');
    expect(h.lines.join('')).not.toContain(credential.leaseId);
    await h.broker.stop(1000);
  });

  it('after the recovery of its replica, presumed dead: the survivor answers the release with the reason', async () => {
    const { clock, state, a, b } = replicas({ sharedStore: true });
    const down = cutHeartbeats(state);
    await a.broker.start();
    await b.broker.start();
    await tick(clock, 15, 8);
    const { c, credential } = await checkOut(a);
    down.add('instance-a');
    await tick(clock, 15, 9);
    await vi.waitFor(() => expect(state.leases.size).toBe(0), HANG);
    expect(await release(b, c, credential.leaseId)).toMatchObject({
      released: true,
      alreadyCheckedIn: { reason: 'recovery', at: expect.any(String) },
    });
    await Promise.all([a.broker.stop(0, 'reload'), b.broker.stop(0, 'reload')]);
  });

  it('while the bridge is still checking it in (the vault failed the expiry check-in): the reason, no time yet', async () => {
    const h = brokerHarness();
    await h.broker.start();
    const { c, credential } = await checkOut(h);
    h.vault.checkin = () => Promise.reject(new ServiceError('vault.unavailable', 'Password Safe is down'));
    // Past the expiry (the sweep, asleep, wakes once): its check-in fails and is owed, retried later.
    await h.clock.advance(Date.parse(credential.expiresAt) - h.clock.now() + 1000);
    await vi.waitFor(
      () =>
        expect(h.state.leases.get(credential.leaseId)?.checkinRetry).toMatchObject({ attempts: 1, reason: 'expiry' }),
      HANG,
    );
    expect(await release(h, c, credential.leaseId)).toEqual({ released: true, alreadyCheckedIn: { reason: 'expiry' } });
    await h.broker.stop(0, 'reload');
  });
});
