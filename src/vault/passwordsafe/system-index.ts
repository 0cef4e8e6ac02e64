import type { SystemInfo } from './ps-discovery.js';

/** Order of search results: by name, as consoles list them. One collator: `localeCompare` builds one per call. */
export const byName = new Intl.Collator().compare;

/** Below this many systems a scan is as fast as the index and saves its memory. */
const INDEX_FROM = 2048;
/** Joins a system's searchable fields; it cannot be typed into a search, so no match spans two fields. */
const SEP = '\u0000';

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
  readonly #position = new Map<number, number>();
  readonly #grams: { mask: number; starts: Int32Array; postings: Int32Array } | undefined;

  constructor(systems: Iterable<SystemInfo>) {
    this.systems = [...systems].sort((a, b) => byName(a.name, b.name));
    this.#text = this.systems.map((s) => `${s.name}${SEP}${s.hostname}${SEP}${s.ip ?? ''}`.toLowerCase());
    this.systems.forEach((s, i) => this.#position.set(s.id, i));
    this.#grams = this.systems.length >= INDEX_FROM ? buildGrams(this.#text) : undefined;
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

function gramHash(s: string, i: number, mask: number): number {
  const h = Math.imul(s.charCodeAt(i), 0x9e3779b1) ^ Math.imul(s.charCodeAt(i + 1), 0x85ebca77) ^ s.charCodeAt(i + 2);
  return (h ^ (h >>> 15)) & mask;
}

/** Compressed posting lists: bucket b holds positions `postings[starts[b] .. starts[b+1])`, ascending. */
function buildGrams(text: string[]): { mask: number; starts: Int32Array; postings: Int32Array } {
  let buckets = 1024;
  while (buckets < text.length * 2 && buckets < 1 << 18) buckets <<= 1;
  const mask = buckets - 1;
  const counts = new Int32Array(buckets + 1);
  const last = new Int32Array(buckets).fill(-1);
  const each = (visit: (bucket: number, pos: number) => void) => {
    for (let p = 0; p < text.length; p++) {
      const t = text[p]!;
      for (let i = 0; i + 3 <= t.length; i++) {
        if (t[i] === SEP || t[i + 1] === SEP || t[i + 2] === SEP) continue;
        const b = gramHash(t, i, mask);
        if (last[b] === p) continue; // each system once per bucket
        last[b] = p;
        visit(b, p);
      }
    }
  };
  each((b) => counts[b + 1]!++);
  for (let b = 0; b < buckets; b++) counts[b + 1]! += counts[b]!;
  const postings = new Int32Array(counts[buckets]!);
  const fill = counts.slice(0, buckets);
  last.fill(-1);
  each((b, p) => {
    postings[fill[b]!++] = p;
  });
  return { mask, starts: counts, postings };
}

/** The shortest posting list among the query's trigrams: every match holds all of them. */
function rarestPostings(g: { mask: number; starts: Int32Array; postings: Int32Array }, query: string): Int32Array {
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
