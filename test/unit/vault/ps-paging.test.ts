import { describe, expect, it } from 'vitest';
import { restOfCountedList, uncountedList } from '../../../src/vault/passwordsafe/ps-paging.js';

/** A list of `n` rows served like the vault: `limit` rows from `offset`, at most `cap` per page. */
function served(n: number, cap = Infinity) {
  const asked: [number, number][] = [];
  const fetch = async (offset: number, limit: number) => {
    asked.push([offset, limit]);
    return Array.from({ length: Math.max(0, Math.min(limit, cap, n - offset)) }, (_, i) => offset + i);
  };
  return { fetch, asked };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('paging', () => {
  it('reads the rest of a counted list in at most `parallel` pages, none larger than the maximum', async () => {
    const s = served(10_000);
    const first = await s.fetch(0, 100);
    expect(await restOfCountedList(first, 10_000, s.fetch, { parallel: 4, maxPageSize: 2500 })).toEqual(range(10_000));
    expect(s.asked.slice(1)).toEqual([
      [100, 2475],
      [2575, 2475],
      [5050, 2475],
      [7525, 2475],
    ]);
    const big = served(30_000);
    expect(
      await restOfCountedList(await big.fetch(0, 100), 30_000, big.fetch, { parallel: 4, maxPageSize: 2500 }),
    ).toEqual(range(30_000));
    expect(Math.max(...big.asked.map(([, l]) => l))).toBe(2500);
  });

  it('reads an uncounted list in windows of large pages, stopping at the first short page', async () => {
    const s = served(12_000);
    expect(await uncountedList(s.fetch, { first: 1000, next: 5000, window: 4 })).toEqual(range(12_000));
    // One page, then one window: the page of exactly 1,000 rows after larger ones is the end, not a cap.
    expect(s.asked).toEqual([
      [0, 1000],
      [1000, 5000],
      [6000, 5000],
      [11_000, 5000],
      [16_000, 5000],
    ]);
    const small = served(999);
    expect(await uncountedList(small.fetch, { first: 1000, next: 5000, window: 4 })).toEqual(range(999));
    expect(small.asked.length).toBe(1);
  });

  it('notices a vault that caps pages at the first page size and reads on without losing rows', async () => {
    const s = served(3500, 1000);
    expect(await uncountedList(s.fetch, { first: 1000, next: 5000, window: 2 })).toEqual(range(3500));
  });
});
