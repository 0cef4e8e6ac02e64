import type { Clock } from './clock.js';

const MINUTE_MS = 60_000;

/**
 * Counts of named events over the last hour, in one-minute buckets (at most 60 per name), so a
 * status page can say "answered/refused in the last hour" without keeping one entry per event.
 * Memory is bounded by the number of names times 60; counts start when the owner is created.
 */
export class RecentCounts<N extends string> {
  /** name -> minute index -> count; minutes older than the window are pruned on every write and read. */
  readonly #buckets = new Map<N, Map<number, number>>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMinutes = 60,
  ) {}

  add(name: N, n = 1): void {
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    let b = this.#buckets.get(name);
    if (!b) this.#buckets.set(name, (b = new Map()));
    b.set(minute, (b.get(minute) ?? 0) + n);
    this.#prune(b, minute);
  }

  /** The sum per name over the window that ends now. */
  totals(names: readonly N[]): Record<N, number> {
    const minute = Math.floor(this.clock.now() / MINUTE_MS);
    const out = {} as Record<N, number>;
    for (const name of names) {
      const b = this.#buckets.get(name);
      if (b) this.#prune(b, minute);
      out[name] = b ? [...b.values()].reduce((a, c) => a + c, 0) : 0;
    }
    return out;
  }

  #prune(b: Map<number, number>, minute: number): void {
    for (const m of b.keys()) if (m <= minute - this.windowMinutes) b.delete(m);
  }
}
