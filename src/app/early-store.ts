import { dirname } from 'node:path';
import { parse } from 'yaml';
import { MAX_CONFIG_FILE_BYTES, readBoundedFile } from '../platform/bounded-file.js';
import { resolveConfigPath } from '../platform/config/config-path.js';
import { DEFAULT_LOCK_WAIT_MS } from '../store/pglite/data-dir-lock.js';
import type { PgliteCluster } from '../store/pglite/cluster.js';
import type { StoreConfig } from '../store/store-config.js';

/** The embedded data directory the file names, as its validated `store` section will. */
interface Target {
  dataDir: string;
  lockWaitMs: number | undefined;
}

/**
 * `serve`'s head start on the embedded store. Opening PGlite (compiling its WebAssembly, reading
 * the data directory, starting Postgres) is the longest part of start-up, and it used to begin
 * only after Node had loaded the whole application and validated the config. `begin` reads just
 * the file's `store` section (only the YAML parser loads for it) and, when it names an embedded
 * data directory, starts opening that directory while the rest of the bridge loads; the module
 * imports nothing heavy so that it can run first.
 *
 * Only the validated configuration decides: the store unit's first start `take`s the open cluster
 * when its `store` section names the same directory and lock wait, and otherwise, or when the
 * config is invalid, the early open is `discard`ed: closed, its lock released (a wait for the
 * lock is given up). An invalid file may still have created the data directory it names.
 */
export class EarlyStoreOpen {
  readonly #abort = new AbortController();
  readonly #cluster: Promise<PgliteCluster | undefined>;
  #settled = false;
  #taken = false;

  private constructor(
    private readonly target: Target | undefined,
    open: (signal: AbortSignal) => Promise<PgliteCluster | undefined>,
  ) {
    this.#cluster = open(this.#abort.signal);
    // A failed open is reported by take() (to the store unit), or dropped by discard().
    this.#cluster.catch(() => undefined);
  }

  /**
   * Reads the store section of `file` and, when it names an embedded directory, begins opening it.
   * The opener's modules (PGlite's with them) have loaded when this resolves: the open has started
   * compiling and reading instead of queueing behind the rest of the bridge, which the caller
   * imports next. A failed load fails the open, as take() then reports.
   */
  static async begin(file: string): Promise<EarlyStoreOpen> {
    const target = await readTarget(file);
    if (!target) return new EarlyStoreOpen(undefined, () => Promise.resolve(undefined));
    const opener = import('../store/pglite/cluster.js');
    await opener.catch(() => undefined);
    return new EarlyStoreOpen(target, async (signal) =>
      (await opener).openPgliteCluster(target.dataDir, target.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, signal),
    );
  }

  /**
   * The cluster opened early when `config` (validated) names the same directory: its open's
   * failure is the store's, as when the unit opens it itself. Otherwise undefined, after
   * discarding the early open so its lock is free. Only the first call can take it.
   */
  async take(config: StoreConfig): Promise<PgliteCluster | undefined> {
    const target = this.target;
    const same =
      !this.#settled &&
      target !== undefined &&
      config.kind === 'embedded' &&
      config.dataDir === target.dataDir &&
      config.lockWaitMs === target.lockWaitMs;
    if (!same) {
      await this.discard();
      return undefined;
    }
    this.#settled = true;
    this.#taken = true;
    return this.#cluster;
  }

  /** Whether the store unit took this open (logged with "store ready"). */
  get taken(): boolean {
    return this.#taken;
  }

  /** Closes the early open unless it was taken, once it has settled; gives up a wait for the lock. */
  async discard(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#abort.abort();
    const cluster = await this.#cluster.catch(() => undefined);
    await cluster?.close();
  }
}

/** The embedded directory in the file's `store` section; undefined when there is none or it cannot tell. */
async function readTarget(file: string): Promise<Target | undefined> {
  try {
    const text = readBoundedFile(file, MAX_CONFIG_FILE_BYTES);
    const store = (parse(text, { maxAliasCount: 100 }) as { store?: Record<string, unknown> } | null)?.store;
    // An absent store or dataDir means the schema's defaults: left to the full load.
    if (store?.kind !== 'embedded' || typeof store.dataDir !== 'string' || store.dataDir === '') return undefined;
    if (store.lockWaitMs !== undefined && typeof store.lockWaitMs !== 'number') return undefined;
    return { dataDir: resolveConfigPath(store.dataDir, dirname(file)), lockWaitMs: store.lockWaitMs };
  } catch {
    return undefined; // unreadable or not YAML: the full load reports it
  }
}
