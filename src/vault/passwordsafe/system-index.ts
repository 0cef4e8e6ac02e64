import type { SystemInfo } from './ps-discovery.js';

/** Order of search results: by name, as consoles list them. One collator: `localeCompare` builds one per call. */
export const byName = new Intl.Collator().compare;

/** Below this many systems a scan is as fast as the index and saves its memory. */
const INDEX_FROM = 2048;
/** Joins a system's searchable fields; it cannot be typed into a search, so no match spans two fields. */
const SEP = '\u0000';
/** Items handled between two turns of the event loop when an index is built in slices. */
const SLICE = 512;

type Grams = { mask: number; starts: Int32Array; postings: Int32Array };

/** What an index is made of; built by `parts`, a generator that stops after every slice of work. */
class IndexParts {
  constructor(
    readonly systems: SystemInfo[],
    readonly text: string[],
    readonly grams: Grams | undefined,
    readonly position: Map<number, number>,
  ) {}
}

/** Gives the event loop a turn: pending I/O (searches, the ECM channel) runs before the next slice. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Systems sorted by name with, built once per cache fill, each system's lower-cased searchable
 * text (name, host name, IP) and, for large lists, a trigram index over it. A search is a plain
 * case-insensitive substring test (never a pattern): with a query of 3 or more characters only
 * the systems holding its rarest trigram are tested, so a warm search does not scan the estate.
 * Trigrams are hashed into buckets (compact arrays, no per-trigram objects); a collision only
 * adds candidates, which the substring test then rejects.
 */
export class SystemIndex {
  readonly systems: readonly SystemInfo[];
  readonly #text: string[];
  readonly #position: Map<number, number>;
  readonly #grams: Grams | undefined;

  /** Builds the index at once (small lists); `build` does the same work in slices. */
  constructor(source: Iterable<SystemInfo> | IndexParts) {
    let p: IndexParts;
    if (source instanceof IndexParts) p = source;
    else {
      const steps = parts([...source]);
      let r = steps.next();
      while (!r.done) r = steps.next();
      p = r.value;
    }
    this.systems = p.systems;
    this.#text = p.text;
    this.#grams = p.grams;
    this.#position = p.position;
  }

  /**
   * The same index, built in slices of a few hundred systems with a turn of the event loop
   * between them: a catalogue of 100,000 systems takes hundreds of milliseconds to sort and
   * index, which in one piece would stall every search and channel message meanwhile.
   */
  static async build(systems: SystemInfo[]): Promise<SystemIndex> {
    const steps = parts(systems);
    let r = steps.next();
    while (!r.done) {
      await nextTurn();
      r = steps.next();
    }
    return new SystemIndex(r.value);
  }

  get size(): number {
    return this.systems.length;
  }

  positionOf(id: number): number | undefined {
    return this.#position.get(id);
  }

  /**
   * Positions (ascending, i.e. in name order) of at most `limit` systems whose text contains
   * `query` (lower-cased by the caller), among those `member` admits (all when absent).
   */
  search(query: string, limit: number, member?: Uint8Array): number[] {
    const hits: number[] = [];
    if (limit <= 0 || query.includes(SEP)) return hits;
    const ok = (i: number) => member === undefined || (member[i >> 3]! & (1 << (i & 7))) !== 0;
    const candidates = this.#grams && query.length >= 3 ? rarestPostings(this.#grams, query) : undefined;
    if (candidates) {
      for (let k = 0; k < candidates.length && hits.length < limit; k++) {
        const i = candidates[k]!;
        if (ok(i) && this.#text[i]!.includes(query)) hits.push(i);
      }
      return hits;
    }
    for (let i = 0; i < this.#text.length && hits.length < limit; i++) {
      if (ok(i) && (query === '' || this.#text[i]!.includes(query))) hits.push(i);
    }
    return hits;
  }
}

/** A bitset over an index's positions. */
export function memberSet(size: number, positions: Iterable<number>): Uint8Array {
  const bits = new Uint8Array((size + 7) >> 3);
  for (const i of positions) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

/**
 * The work of an index, stopping after every slice: sorted by name (slices sorted, then merged
 * pairwise, stable like one sort), each system's lower-cased text, and the trigram postings.
 */
function* parts(input: SystemInfo[]): Generator<void, IndexParts> {
  const order = (a: SystemInfo, b: SystemInfo) => byName(a.name, b.name);
  let runs: SystemInfo[][] = [];
  for (let i = 0; i < input.length; i += SLICE) {
    runs.push(input.slice(i, i + SLICE).sort(order));
    yield;
  }
  while (runs.length > 1) {
    const merged: SystemInfo[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (!b) {
        merged.push(a);
        continue;
      }
      const out: SystemInfo[] = [];
      let i = 0;
      let j = 0;
      while (i < a.length || j < b.length) {
        out.push(j >= b.length || (i < a.length && order(a[i]!, b[j]!) <= 0) ? a[i++]! : b[j++]!);
        if (out.length % SLICE === 0) yield;
      }
      merged.push(out);
    }
    runs = merged;
  }
  const systems = runs[0] ?? [];
  const text: string[] = [];
  const position = new Map<number, number>();
  for (let i = 0; i < systems.length; i++) {
    const s = systems[i]!;
    text.push(`${s.name}${SEP}${s.hostname}${SEP}${s.ip ?? ''}`.toLowerCase());
    position.set(s.id, i);
    if (i % SLICE === SLICE - 1) yield;
  }
  const grams = systems.length >= INDEX_FROM ? yield* buildGrams(text) : undefined;
  return new IndexParts(systems, text, grams, position);
}

function gramHash(s: string, i: number, mask: number): number {
  const h = Math.imul(s.charCodeAt(i), 0x9e3779b1) ^ Math.imul(s.charCodeAt(i + 1), 0x85ebca77) ^ s.charCodeAt(i + 2);
  return (h ^ (h >>> 15)) & mask;
}

/** Compressed posting lists: bucket b holds positions `postings[starts[b] .. starts[b+1])`, ascending. */
function* buildGrams(text: string[]): Generator<void, Grams> {
  let buckets = 1024;
  while (buckets < text.length * 2 && buckets < 1 << 18) buckets <<= 1;
  const mask = buckets - 1;
  const counts = new Int32Array(buckets + 1);
  const last = new Int32Array(buckets).fill(-1);
  function* each(visit: (bucket: number, pos: number) => void): Generator<void, void> {
    for (let p = 0; p < text.length; p++) {
      const t = text[p]!;
      for (let i = 0; i + 3 <= t.length; i++) {
        if (t[i] === SEP || t[i + 1] === SEP || t[i + 2] === SEP) continue;
        const b = gramHash(t, i, mask);
        if (last[b] === p) continue; // each system once per bucket
        last[b] = p;
        visit(b, p);
      }
      if (p % SLICE === SLICE - 1) yield;
    }
  }
  yield* each((b) => counts[b + 1]!++);
  for (let b = 0; b < buckets; b++) counts[b + 1]! += counts[b]!;
  const postings = new Int32Array(counts[buckets]!);
  const fill = counts.slice(0, buckets);
  last.fill(-1);
  yield* each((b, p) => {
    postings[fill[b]!++] = p;
  });
  return { mask, starts: counts, postings };
}

/** The shortest posting list among the query's trigrams: every match holds all of them. */
function rarestPostings(g: Grams, query: string): Int32Array {
  let best = -1;
  let bestLen = Infinity;
  for (let i = 0; i + 3 <= query.length; i++) {
    const b = gramHash(query, i, g.mask);
    const len = g.starts[b + 1]! - g.starts[b]!;
    if (len < bestLen) {
      best = b;
      bestLen = len;
    }
  }
  return g.postings.subarray(g.starts[best]!, g.starts[best + 1]!);
}
