/** A seeded pseudo-random stream (mulberry32): the same (seed, index, stream) always yields the same numbers. */
export type Random = () => number;

export function seededRandom(seed: number, index: number, stream: number): Random {
  let a =
    (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^
      Math.imul(index + 1, 0xc2b2ae35) ^
      Math.imul(stream + 1, 0x27d4eb2f)) >>>
    0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: Random, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)]!;
}
