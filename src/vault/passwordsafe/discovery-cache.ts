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

/** What a load is for: a background load replaces a value still being served, so it may take longer to spare the event loop. */
export interface LoadContext {
  background: boolean;
}

export interface GetOptions {
  staleWhileRevalidate?: boolean;
  /**
   * With `staleWhileRevalidate`, a lookup of an expired entry waits for its background load
   * (started, or joined if one runs) instead of taking the stale value; others are still served
   * stale meanwhile. For a refresh of something built on this entry, so that it is not rebuilt
   * on the old value. When no refresh may start (the bound, or a recent failure) the stale value is returned.
   */
  awaitRefresh?: boolean;
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
  async get<T>(key: string, load: (how: LoadContext) => Promise<T>, opts: GetOptions = {}): Promise<T> {
    if (this.o.ttlMs <= 0) return load({ background: false });
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
          const refresh = this.#refreshInBackground(key, e, load, now);
          if (opts.awaitRefresh && refresh) return (await refresh) as T;
        }
        return e.value as T;
      }
      this.#entries.delete(key);
    }
    this.o.onLookup?.('miss');
    return this.#load(key, load, false) as Promise<T>;
  }

  #load(key: string, load: (how: LoadContext) => Promise<unknown>, background: boolean): Promise<unknown> {
    const inFlight = this.#loading.get(key);
    if (inFlight) return inFlight;
    // The value is as old as the first thing its load read: a load that takes long (a large
    // catalogue) must not come out fresher than it is, or the next refresh starts late.
    const startedAt = this.o.clock.now();
    const p = load({ background })
      .then((value) => {
        this.#entries.delete(key);
        this.#entries.set(key, { value, loadedAt: startedAt, retryAt: 0 });
        while (this.#entries.size > this.o.maxEntries)
          this.#entries.delete(this.#entries.keys().next().value as string);
        return value;
      })
      .finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    return p;
  }

  /** The running or newly started background load of `key`, with the stale value on failure; undefined when none may start. */
  #refreshInBackground(
    key: string,
    e: Entry,
    load: (how: LoadContext) => Promise<unknown>,
    now: number,
  ): Promise<unknown> | undefined {
    const running = this.#loading.get(key);
    if (running) return running.catch(() => e.value);
    if (this.#refreshing >= this.#maxRefreshes || now < e.retryAt) return undefined;
    this.#refreshing++;
    return this.#load(key, load, true)
      .catch((err: unknown) => {
        e.retryAt = this.o.clock.now() + Math.max(1000, this.o.ttlMs / 10);
        this.o.onRefreshError?.(key, err);
        return e.value;
      })
      .finally(() => this.#refreshing--);
  }
}
