import type { Clock } from '../../platform/clock.js';

/**
 * A small TTL + LRU cache for discovery results (account and system lists, platforms,
 * workgroups) keyed per vault user. It never holds secrets: only what ManagedAccounts and
 * ManagedSystems show. Concurrent misses for one key share a single load. A TTL of 0 disables
 * it (every call loads).
 */
export class DiscoveryCache {
  readonly #entries = new Map<string, { value: unknown; expiresAt: number }>();
  readonly #loading = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: Clock,
    private readonly onLookup: (hit: boolean) => void = () => {},
  ) {}

  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs <= 0) return load();
    const e = this.#entries.get(key);
    if (e && e.expiresAt > this.clock.now()) {
      this.#entries.delete(key);
      this.#entries.set(key, e);
      this.onLookup(true);
      return e.value as T;
    }
    if (e) this.#entries.delete(key);
    this.onLookup(false);
    const inFlight = this.#loading.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const p = load()
      .then((value) => {
        this.#entries.set(key, { value, expiresAt: this.clock.now() + this.ttlMs });
        while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
        return value;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }
}
