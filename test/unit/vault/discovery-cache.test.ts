import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { DiscoveryCache, type CacheLookup, type LoadContext } from '../../../src/vault/passwordsafe/discovery-cache.js';
import { until } from '../../helpers/until.js';

const swr = { staleWhileRevalidate: true };

describe('DiscoveryCache', () => {
  it('serves within the TTL, reloads after it, and counts hits and misses', async () => {
    const clock = new ManualClock();
    const lookups: CacheLookup[] = [];
    const cache = new DiscoveryCache({ ttlMs: 30_000, maxEntries: 10, clock, onLookup: (r) => lookups.push(r) });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('u\na', load)).toBe(1);
    expect(await cache.get('u\na', load)).toBe(1);
    await clock.advance(30_001);
    expect(await cache.get('u\na', load)).toBe(2);
    expect(lookups).toEqual(['miss', 'hit', 'miss']);
  });

  it('collapses concurrent misses into one load and does not cache failures', async () => {
    const cache = new DiscoveryCache({ ttlMs: 30_000, maxEntries: 10, clock: new ManualClock() });
    let loads = 0;
    const [a, b] = await Promise.all([cache.get('k', async () => ++loads), cache.get('k', async () => ++loads)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    await expect(
      cache.get('bad', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await cache.get('bad', async () => 'ok')).toBe('ok');
  });

  it('stays within its size bound (least recently used out) and is off with TTL 0', async () => {
    const cache = new DiscoveryCache({ ttlMs: 30_000, maxEntries: 2, clock: new ManualClock() });
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    await cache.get('a', async () => 'a2');
    await cache.get('c', async () => 'c1');
    expect(cache.size).toBe(2);
    expect(await cache.get('a', async () => 'a3')).toBe('a1');
    expect(await cache.get('b', async () => 'b2')).toBe('b2');
    const off = new DiscoveryCache({ ttlMs: 0, maxEntries: 2, clock: new ManualClock() });
    let n = 0;
    await off.get('k', async () => ++n);
    await off.get('k', async () => ++n);
    expect(n).toBe(2);
  });

  it('serves an expired entry at once while one background load replaces it', async () => {
    const clock = new ManualClock();
    const lookups: CacheLookup[] = [];
    const cache = new DiscoveryCache({
      ttlMs: 30_000,
      maxStaleMs: 60_000,
      maxEntries: 10,
      clock,
      onLookup: (r) => lookups.push(r),
    });
    expect(await cache.get('k', async () => 'v1', swr)).toBe('v1');
    await clock.advance(31_000);
    let release!: () => void;
    let loads = 0;
    const slow = () =>
      new Promise<string>((resolve) => {
        loads++;
        release = () => resolve('v2');
      });
    // Three lookups of the expired entry: all answered from it, one refresh between them.
    expect(
      await Promise.all([cache.get('k', slow, swr), cache.get('k', slow, swr), cache.get('k', slow, swr)]),
    ).toEqual(['v1', 'v1', 'v1']);
    expect(loads).toBe(1);
    release();
    await until(async () => (await cache.get('k', slow, swr)) === 'v2', 'the refreshed value');
    expect(loads).toBe(1);
    expect(lookups.slice(0, 4)).toEqual(['miss', 'stale', 'stale', 'stale']);
    // A lookup without staleWhileRevalidate does not take a stale entry.
    await clock.advance(31_000);
    expect(await cache.get('k', async () => 'v3')).toBe('v3');
  });

  it('keeps serving the stale entry when its refresh fails, reports it, and waits for a load past the bound', async () => {
    const clock = new ManualClock();
    const failures: string[] = [];
    const cache = new DiscoveryCache({
      ttlMs: 30_000,
      maxStaleMs: 60_000,
      maxEntries: 10,
      clock,
      onRefreshError: (key, err) => failures.push(`${key}: ${(err as Error).message}`),
    });
    await cache.get('k', async () => 'v1', swr);
    await clock.advance(31_000);
    let attempts = 0;
    const failing = async (): Promise<string> => {
      attempts++;
      throw new Error('vault down');
    };
    expect(await cache.get('k', failing, swr)).toBe('v1');
    await until(() => failures.length === 1, 'the refresh failure');
    expect(failures).toEqual(['k: vault down']);
    // Right after a failure the vault is not asked again on every lookup.
    expect(await cache.get('k', failing, swr)).toBe('v1');
    expect(attempts).toBe(1);
    // Past TTL + maxStale the caller waits for a load and sees its failure.
    await clock.advance(60_000);
    await expect(cache.get('k', failing, swr)).rejects.toThrow('vault down');
    expect(await cache.get('k', async () => 'v2', swr)).toBe('v2');
  });

  it('bounds the background refreshes running at once', async () => {
    const clock = new ManualClock();
    const cache = new DiscoveryCache({ ttlMs: 1000, maxStaleMs: 60_000, maxEntries: 10, maxRefreshes: 1, clock });
    await cache.get('a', async () => 'a1', swr);
    await cache.get('b', async () => 'b1', swr);
    await clock.advance(2000);
    let started = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const load = (v: string) => async () => {
      started++;
      await gate;
      return v;
    };
    expect(await cache.get('a', load('a2'), swr)).toBe('a1');
    expect(await cache.get('b', load('b2'), swr)).toBe('b1');
    expect(started).toBe(1);
    release();
    await until(async () => (await cache.get('a', load('a3'), swr)) === 'a2', 'a refreshed');
    expect(await cache.get('b', async () => 'b2', swr)).toBe('b1');
    await until(async () => (await cache.get('b', async () => 'b2', swr)) === 'b2', 'b refreshed');
  });

  it('ages an entry from the start of its load, so consecutive refreshes all start even when a load outlives a clock move', async () => {
    const clock = new ManualClock();
    const cache = new DiscoveryCache({ ttlMs: 30_000, maxStaleMs: 60_000, maxEntries: 10, clock });
    await cache.get('k', async () => 0, swr);
    let started = 0;
    let finished = 0;
    await clock.advance(31_000);
    for (let round = 1; round <= 5; round++) {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const slow = async (how: LoadContext) => {
        expect(how.background).toBe(true);
        started++;
        await gate;
        finished++;
        return round;
      };
      // Expired again: the last load read its lists a TTL ago (stamped at its end, it would look fresh).
      expect(await cache.get('k', slow, swr)).toBe(round - 1);
      expect(started).toBe(round);
      // The load takes a whole TTL (a large catalogue on a slow vault): what it read is that old when it ends.
      await clock.advance(31_000);
      release();
      await until(() => finished === round, `refresh ${round} finished`);
    }
    expect([started, finished]).toEqual([5, 5]);
  });

  it('lets a lookup wait for the refresh of an expired entry while others are served the stale value', async () => {
    const clock = new ManualClock();
    const cache = new DiscoveryCache({ ttlMs: 30_000, maxStaleMs: 60_000, maxEntries: 10, maxRefreshes: 1, clock });
    await cache.get('k', async () => 'v1', swr);
    await cache.get('busy', async () => 'b1', swr);
    await clock.advance(31_000);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const waiting = cache.get(
      'k',
      async () => {
        await gate;
        return 'v2';
      },
      { ...swr, awaitRefresh: true },
    );
    // Another lookup meanwhile joins nothing and is served at once.
    expect(await cache.get('k', async () => 'never', swr)).toBe('v1');
    // No refresh may start (the bound is taken by k's): the stale value is returned, not a wait.
    expect(await cache.get('busy', async () => 'b2', { ...swr, awaitRefresh: true })).toBe('b1');
    release();
    expect(await waiting).toBe('v2');
  });
});
