import { describe, expect, it } from 'vitest';
import { byName, memberSet, SystemIndex } from '../../../src/vault/passwordsafe/system-index.js';

/** Deterministic pseudo-random names, with upper case, dots and digits, so trigrams collide and repeat. */
function estate(n: number) {
  let x = 7;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = (s: string) => s[Math.floor(rnd() * s.length)]!;
  return Array.from({ length: n }, (_, id) => {
    const name = Array.from({ length: 4 + Math.floor(rnd() * 8) }, () => pick('abcAB01.-xyz')).join('');
    return {
      id,
      name,
      hostname: `${name}.Corp.example`,
      ...(id % 3 ? { ip: `10.${id % 7}.${id % 251}.${id % 13}` } : {}),
    };
  });
}

describe('SystemIndex', () => {
  const systems = estate(3000);
  const index = new SystemIndex(systems);
  const byPos = index.systems;
  const brute = (q: string, limit: number, member?: (id: number) => boolean) =>
    byPos
      .filter((s) => member === undefined || member(s.id))
      .filter((s) => `${s.name}\u0000${s.hostname}\u0000${s.ip ?? ''}`.toLowerCase().includes(q))
      .slice(0, limit)
      .map((s) => s.id);

  it('finds by the trigram index exactly what a substring scan finds, in name order, within a member set', async () => {
    const even = (id: number) => id % 2 === 0;
    const member = memberSet(
      index.size,
      systems.filter((s) => even(s.id)).map((s) => index.positionOf(s.id)!),
    );
    for (const q of [
      '',
      'a',
      'ab',
      'aba',
      'b01',
      '.corp',
      'corp.example',
      '10.3.',
      'x.y',
      'zzzz',
      'A0'.toLowerCase(),
    ]) {
      for (const limit of [1, 20, 10_000]) {
        expect(
          index.search(q, limit).map((i) => byPos[i]!.id),
          `${q}/${limit}`,
        ).toEqual(brute(q, limit));
        expect(
          index.search(q, limit, member).map((i) => byPos[i]!.id),
          `${q}/${limit} members`,
        ).toEqual(brute(q, limit, even));
      }
    }
  });

  it('never matches across fields and stays bounded on hostile queries', () => {
    expect(index.search('\u0000', 10)).toEqual([]);
    expect(index.search('example\u000010', 10)).toEqual([]);
    const long = 'a'.repeat(200);
    expect(index.search(long, 10)).toEqual([]);
    expect(index.search('.*'.repeat(50), 10)).toEqual([]);
  });

  it('builds a large index in slices, giving the event loop turns, into the same index as at once', async () => {
    const large = estate(40_000);
    let building = true;
    let turns = 0;
    const spin = () => {
      if (!building) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const sliced = await SystemIndex.build(large);
    building = false;
    // Other callbacks ran while it was built (a catalogue refresh must not stall searches).
    expect(turns).toBeGreaterThan(10);
    const whole = new SystemIndex(large);
    const sortedOnce = [...large].sort((a, b) => byName(a.name, b.name)).map((s) => s.id);
    expect(whole.systems.map((s) => s.id)).toEqual(sortedOnce); // slices merged = one stable sort
    expect(sliced.systems.map((s) => s.id)).toEqual(sortedOnce);
    for (const q of ['', 'ab', 'b01', '.corp', '10.3.', 'zzzz'])
      expect(sliced.search(q, 500), q).toEqual(whole.search(q, 500));
    expect(sliced.positionOf(large[123]!.id)).toBe(whole.positionOf(large[123]!.id));
  });
});
