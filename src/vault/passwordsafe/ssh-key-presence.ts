import type { Clock } from '../../platform/clock.js';

/**
 * Whether SSH-platform accounts were found to hold a key. Password Safe's account list does not
 * say, so the first checkout asks for key, passphrase and password at once and keeps what the
 * account holds; remembering the answer lets later checkouts ask only for that. Entries expire
 * (an administrator may add or remove a key) and the set is bounded, oldest forgotten first.
 * Only the fact is kept, never a secret.
 */
export class SshKeyPresence {
  readonly #learned = new Map<string, { hasKey: boolean; at: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = 15 * 60_000,
    private readonly max = 10_000,
  ) {}

  /** True (holds a key), false (password only) or undefined (not known, or forgotten). */
  known(systemId: number, accountId: number): boolean | undefined {
    const k = `${systemId}/${accountId}`;
    const entry = this.#learned.get(k);
    if (entry === undefined) return undefined;
    if (this.clock.now() - entry.at < this.ttlMs) return entry.hasKey;
    this.#learned.delete(k);
    return undefined;
  }

  learn(systemId: number, accountId: number, hasKey: boolean): void {
    const k = `${systemId}/${accountId}`;
    this.#learned.delete(k);
    this.#learned.set(k, { hasKey, at: this.clock.now() });
    if (this.#learned.size > this.max) this.#learned.delete(this.#learned.keys().next().value!);
  }
}
