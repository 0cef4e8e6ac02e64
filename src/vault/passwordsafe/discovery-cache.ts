import type { Clock } from '../../platform/clock.js';

export type CacheLookup = 'hit' | 'miss' | 'stale';

export interface DiscoveryCacheOptions {
  /** How long an entry is fresh; 0 disables the cache (every call loads). */
  ttlMs: number;
  /** Entries kept, least recently used out first. */
  maxEntries: number;
  clock: Clock;
  /**
   * How long past its TTL an entry may still be served to a `staleWhileRevalidate` lookup while
   * one background load replaces it. Past this bound the lookup waits for a load, as on a miss.
   */
  maxStaleMs?: number;
  /** Background loads running at once, over all keys; an expired entry beyond this waits its turn by being served stale. */
  maxRefreshes?: number;
  onLookup?: (result: CacheLookup) => void;
  /** A background load failed: the stale value stays in use until the bound. */
  onRefreshError?: (key: string, error: unknown) => void;
}

interface Entry {
  value: unknown;
  loadedAt: number;
  /** No background load before this time (set after a failed one, so a down vault is not asked on every lookup). */
  retryAt: number;
}

/**
 * A TTL + LRU cache for discovery results (account and system lists, platforms, workgroups)
 * keyed per vault user. It never holds secrets: only what ManagedAccounts and ManagedSystems
 * show. Concurrent loads of one key are shared (single flight), in the foreground or background.
 */
export class DiscoveryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<unknown>>();
  #refreshing = 0;
  readonly #maxStaleMs: number;
  readonly #maxRefreshes: number;

  constructor(private readonly o: DiscoveryCacheOptions) {
    this.#maxStaleMs = o.maxStaleMs ?? 0;
    this.#maxRefreshes = o.maxRefreshes ?? 1;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached value, else `load()`'s. With `staleWhileRevalidate`, an entry past its TTL but
   * within `maxStaleMs` is returned at once while one background load replaces it; a failed
   * background load is reported and the stale value served on until the bound.
   */
  async get<T>(key: string, load: () => Promise<T>, opts: { staleWhileRevalidate?: boolean } = {}): Promise<T> {
    if (this.o.ttlMs <= 0) return load();
    const now = this.o.clock.now();
    const e = this.#entries.get(key);
    if (e) {
      const age = now - e.loadedAt;
      if (age < this.o.ttlMs || (opts.staleWhileRevalidate && age < this.o.ttlMs + this.#maxStaleMs)) {
        this.#entries.delete(key);
        this.#entries.set(key, e);
        if (age < this.o.ttlMs) this.o.onLookup?.('hit');
        else {
          this.o.onLookup?.('stale');
          this.#refreshInBackground(key, e, load, now);
        }
        return e.value as T;
      }
      this.#entries.delete(key);
    }
    this.o.onLookup?.('miss');
    return this.#load(key, load) as Promise<T>;
  }

  #load(key: string, load: () => Promise<unknown>): Promise<unknown> {
    const inFlight = this.#loading.get(key);
    if (inFlight) return inFlight;
    const p = load()
      .then((value) => {
        this.#entries.delete(key);
        this.#entries.set(key, { value, loadedAt: this.o.clock.now(), retryAt: 0 });
        while (this.#entries.size > this.o.maxEntries)
          this.#entries.delete(this.#entries.keys().next().value as string);
        return value;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }

  #refreshInBackground(key: string, e: Entry, load: () => Promise<unknown>, now: number): void {
    if (this.#loading.has(key) || this.#refreshing >= this.#maxRefreshes || now < e.retryAt) return;
    this.#refreshing++;
    this.#load(key, load)
      .catch((err: unknown) => {
        e.retryAt = this.o.clock.now() + Math.max(1000, this.o.ttlMs / 10);
        this.o.onRefreshError?.(key, err);
      })
      .finally(() => this.#refreshing--);
  }
}
