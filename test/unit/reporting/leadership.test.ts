import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { acquireWhenFree } from '../../../src/reporting/leader-lock-wait.js';
import { Leadership } from '../../../src/reporting/leadership.js';
import { MemoryLeaderLeases, MemoryStore } from '../../../src/store/memory/store.js';
import { makeSession } from '../../integration/store/session-fixture.js';

const NAME = 'ecm-bridge.reporting';
const TTL = 30_000;

describe('Leadership (issue 29, point 7)', () => {
  it('a live leader renews on its clock, so a standby finds it held however long it runs', async () => {
    const leases = new MemoryLeaderLeases();
    const clock = new ManualClock();
    const leader = (await Leadership.take(leases, NAME, clock, TTL))!;
    for (let i = 0; i < 12; i++) {
      await clock.advance(TTL / 3); // each beat renews to a full lease from now
      expect(await Leadership.take(leases, NAME, clock, TTL)).toBeUndefined();
    }
    await leader.release();
    expect(await Leadership.take(leases, NAME, clock, TTL)).toBeDefined(); // released: free at once
  });

  it('a leader that stops renewing loses the lease after its TTL to a second worker; its commit is then refused and writes nothing', async () => {
    const store = new MemoryStore();
    // Two replicas, each with its own clock: the leader's stands still (SIGSTOP: no timer fires).
    const frozen = new ManualClock();
    const standbyClock = new ManualClock(frozen.now());
    const leader = (await Leadership.take(store.leadership, NAME, frozen, TTL))!;
    await standbyClock.advance(TTL); // exactly the TTL: not lapsed yet
    expect(await Leadership.take(store.leadership, NAME, standbyClock, TTL)).toBeUndefined();
    await standbyClock.advance(1);
    const next = (await Leadership.take(store.leadership, NAME, standbyClock, TTL))!;
    expect(next.term.epoch).toBeGreaterThan(leader.term.epoch);

    // The old leader wakes and commits: refused, nothing written, the cursor unmoved.
    const s = makeSession('stale-1');
    const refused = await store.reports.writeSessions([s], { key: 'c', value: 'v' }, leader.fence()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'report.leader_lost' });
    expect(store.reports.sessions.size).toBe(0);
    expect(store.state.cursors.size).toBe(0);
    // Its release does not free the new leader's term; the new leader commits.
    await leader.release();
    expect(await Leadership.take(store.leadership, NAME, standbyClock, TTL)).toBeUndefined();
    expect(await store.reports.writeSessions([s], { key: 'c', value: 'v' }, next.fence())).toEqual({
      inserted: 1,
      updated: 0,
    });
    await next.release();
  });

  it('a waiting backfill takes the leadership once the leader releases it or stops renewing', async () => {
    const leases = new MemoryLeaderLeases();
    const clock = new ManualClock();
    const hung = new ManualClock(clock.now());
    await Leadership.take(leases, NAME, hung, TTL);
    let waited = 0;
    const taking = acquireWhenFree(leases, NAME, clock, TTL, new AbortController().signal, () => waited++);
    let taken: Leadership | undefined;
    void taking.then((l) => (taken = l));
    for (let s = 0; s <= TTL && !taken; s += 1_000) await clock.advance(1_000);
    expect(taken).toBeDefined();
    expect(waited).toBe(1);
    expect(clock.now() - hung.now()).toBeGreaterThan(TTL);
    await taken!.release();
  });
});
