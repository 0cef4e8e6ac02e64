import type { Clock } from '../../platform/clock.js';

/**
 * SSH-platform accounts learned to hold no key. Password Safe's account list does not say
 * whether an account has a key, so the first checkout asks for the key (404) and then the
 * password; remembering the miss saves that sequential round trip on later checkouts. Entries
 * expire (an administrator may add a key) and the set is bounded, oldest forgotten first.
 */
export class KeylessAccounts {
  readonly #learnedAt = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 15 * 60_000,
    private readonly max = 10_000,
  ) {}

  has(systemId: number, accountId: number): boolean {
    const k = `${systemId}/${accountId}`;
    const at = this.#learnedAt.get(k);
    if (at === undefined) return false;
    if (this.clock.now() - at < this.ttlMs) return true;
    this.#learnedAt.delete(k);
    return false;
  }

  learn(systemId: number, accountId: number): void {
    const k = `${systemId}/${accountId}`;
    this.#learnedAt.delete(k);
    this.#learnedAt.set(k, this.clock.now());
    if (this.#learnedAt.size > this.max) this.#learnedAt.delete(this.#learnedAt.keys().next().value!);
  }
}
