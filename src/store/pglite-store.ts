import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { isServiceError, ServiceError } from '../platform/errors.js';
import { DataDirLock } from './data-dir-lock.js';
import { loadMigrations, schemaHealth, type Migration } from './migrations.js';
import { PgliteReportStore } from './pglite-report-store.js';
import { PgliteStateStore } from './pglite-state-store.js';
import { isNewCluster, loadTemplate } from './pglite-template.js';
import type { StoreMetrics } from './store-metrics.js';
import type { LeaderLock, LockHandle } from '../reporting/report-store-port.js';
import type { Store } from './store-ports.js';

export const MEMORY_DATA_DIR = 'memory://';

/**
 * Postgres memory settings for a bridge's state store rather than a database server: the buffer
 * pool lives in PGlite's WebAssembly memory, which grows to fit and never shrinks, so Postgres'
 * defaults (128 MB shared buffers, 64 MB maintenance memory) cost RSS the bridge never uses.
 * Measured in scripts/bench/process-footprint.ts.
 */
export const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...['shared_buffers=16MB', 'temp_buffers=2MB', 'maintenance_work_mem=16MB', 'work_mem=4MB'].flatMap((s) => ['-c', s]),
];

/**
 * Leader lock for the embedded store. PGlite serves one process (the data-directory lock file
 * guarantees it) over one Postgres session, on which advisory locks are re-entrant and could not
 * tell two holders apart; so the process-wide set of held names is the whole truth here.
 */
class ProcessLeaderLock implements LeaderLock {
  readonly #held = new Set<string>();

  async tryAcquire(name: string): Promise<LockHandle | undefined> {
    if (this.#held.has(name)) return undefined;
    this.#held.add(name);
    let released = false;
    return {
      release: async () => {
        if (!released) this.#held.delete(name);
        released = true;
      },
    };
  }
}

/**
 * The embedded store: PGlite (Postgres compiled to WebAssembly) in a data directory, or in
 * memory for tests. Zero setup; the default for the demo. One process per data directory.
 */
export class PgliteStore implements Store {
  readonly reports: PgliteReportStore;
  readonly state: PgliteStateStore;
  readonly lock = new ProcessLeaderLock();

  private constructor(
    /** The PGlite instance, for tooling and tests that need raw SQL; application code uses the ports. */
    readonly db: PGlite,
    private readonly dirLock: DataDirLock | undefined,
    private readonly log: Logger,
    metrics: StoreMetrics,
    private readonly migrations: Migration[],
  ) {
    this.reports = new PgliteReportStore(db, metrics);
    this.state = new PgliteStateStore(db, metrics);
  }

  /** Opens (creating when absent) the data directory; waits up to `lockWaitMs` for another process holding it. */
  static async open(dataDir: string, lockWaitMs: number, log: Logger, metrics: StoreMetrics): Promise<PgliteStore> {
    const inMemory = dataDir === MEMORY_DATA_DIR;
    const dir = inMemory ? dataDir : resolve(dataDir);
    const failed = (e: unknown) =>
      isServiceError(e)
        ? e
        : new ServiceError(
            'store.unavailable',
            `cannot open the embedded database at ${dir}: ${describeOpenFailure(e)}`,
            { op: 'store.open', cause: e },
          );
    let dirLock: DataDirLock | undefined;
    try {
      if (!inMemory) {
        mkdirSync(dirname(dir), { recursive: true });
        dirLock = await DataDirLock.acquire(dir, lockWaitMs);
      }
    } catch (e) {
      throw failed(e);
    }
    try {
      const template = isNewCluster(dir, inMemory) ? loadTemplate() : undefined;
      const db = await PGlite.create(dir, {
        startParams: PGLITE_START_PARAMS,
        ...(template ? { loadDataDir: template } : {}),
      });
      return new PgliteStore(db, dirLock, log, metrics, loadMigrations('postgres'));
    } catch (e) {
      dirLock?.release();
      throw failed(e);
    }
  }

  async migrate(): Promise<number> {
    const handle = await this.lock.tryAcquire('ecm-bridge:migrate');
    if (!handle)
      throw new ServiceError('store.migration_failed', 'a migration is already running in this process', {
        op: 'store.migrate',
      });
    try {
      const applied = await this.schemaVersion();
      for (const m of this.migrations.filter((x) => x.version > applied)) {
        try {
          await this.db.transaction(async (tx) => {
            await tx.exec(m.sql);
            await tx.query('INSERT INTO ecm_bridge.schema_version (version, name) VALUES ($1, $2)', [
              m.version,
              m.name,
            ]);
          });
        } catch (e) {
          throw new ServiceError(
            'store.migration_failed',
            `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`,
            { op: 'store.migrate', cause: e },
          );
        }
        this.log.info({ version: m.version, migration: m.name }, 'applied schema migration');
      }
      return await this.schemaVersion();
    } finally {
      await handle.release();
    }
  }

  async schemaVersion(): Promise<number> {
    try {
      const exists = await this.db.query<{ t: string | null }>(
        `SELECT to_regclass('ecm_bridge.schema_version')::text AS t`,
      );
      if (!exists.rows[0]?.t) return 0;
      const r = await this.db.query<{ v: number }>(
        'SELECT COALESCE(MAX(version), 0)::int AS v FROM ecm_bridge.schema_version',
      );
      return r.rows[0]!.v;
    } catch (e) {
      throw isServiceError(e)
        ? e
        : new ServiceError('store.unavailable', `cannot read the schema version: ${(e as Error).message}`, {
            op: 'store.schemaVersion',
            cause: e,
          });
    }
  }

  health(): Promise<{ ok: boolean; reason?: string }> {
    return schemaHealth(() => this.schemaVersion(), this.migrations);
  }

  async close(): Promise<void> {
    try {
      if (!this.db.closed) await this.db.close();
    } finally {
      this.dirLock?.release();
    }
  }
}

/**
 * PGlite can fail opening a damaged or foreign directory by aborting its WASM instance, which
 * throws something without a message; the operator still needs a sentence.
 */
function describeOpenFailure(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  const status = (e as { status?: unknown } | undefined)?.status;
  return `PGlite stopped without a reason${status === undefined ? '' : ` (status ${String(status)})`}; the directory may be damaged or not a PGlite data directory`;
}
