import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/platform/clock.js';
import { DiscoveryCache } from '../../../src/vault/passwordsafe/discovery-cache.js';

describe('DiscoveryCache', () => {
  it('serves within the TTL, reloads after it, and counts hits and misses', async () => {
    const clock = new ManualClock();
    const lookups: boolean[] = [];
    const cache = new DiscoveryCache(30_000, 10, clock, (hit) => lookups.push(hit));
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.get('u\na', load)).toBe(1);
    expect(await cache.get('u\na', load)).toBe(1);
    await clock.advance(30_001);
    expect(await cache.get('u\na', load)).toBe(2);
    expect(lookups).toEqual([false, true, false]);
  });

  it('collapses concurrent misses into one load and does not cache failures', async () => {
    const cache = new DiscoveryCache(30_000, 10, new ManualClock());
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
    const cache = new DiscoveryCache(30_000, 2, new ManualClock());
    await cache.get('a', async () => 'a1');
    await cache.get('b', async () => 'b1');
    await cache.get('a', async () => 'a2');
    await cache.get('c', async () => 'c1');
    expect(await cache.get('a', async () => 'a3')).toBe('a1');
    expect(await cache.get('b', async () => 'b2')).toBe('b2');
    const off = new DiscoveryCache(0, 2, new ManualClock());
    let n = 0;
    await off.get('k', async () => ++n);
    await off.get('k', async () => ++n);
    expect(n).toBe(2);
  });
});
