import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'pino';
import { isServiceError, ServiceError } from '../../platform/errors.js';
import { loadMigrations, schemaHealth, type Migration } from '../migrations.js';
import { openPgliteCluster, type PgliteCluster } from './cluster.js';
import { PgliteFailbackStore } from './failback-store.js';
import { PgliteLeaderLeases } from './leader-leases.js';
import { PgliteReportStore } from './report-store.js';
import { PgliteStateStore } from './state-store.js';
import type { StoreMetrics } from '../store-metrics.js';
import type { LeaderLock, LockHandle } from '../../reporting/report-store-port.js';
import type { Store } from '../store-ports.js';
import type { Health } from '../../platform/health.js';

/**
 * Lock for the embedded store's migrations. PGlite serves one process (the data-directory lock file
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
  readonly leadership: PgliteLeaderLeases;
  readonly failback: PgliteFailbackStore;
  /** The PGlite instance, for tooling and tests that need raw SQL; application code uses the ports. */
  readonly db: PGlite;

  private constructor(
    private readonly cluster: PgliteCluster,
    private readonly log: Logger,
    metrics: StoreMetrics,
    private readonly migrations: Migration[],
  ) {
    this.db = cluster.db;
    this.reports = new PgliteReportStore(this.db, metrics);
    this.state = new PgliteStateStore(this.db, metrics);
    this.leadership = new PgliteLeaderLeases(this.db);
    this.failback = new PgliteFailbackStore(this.db);
  }

  /** Opens (creating when absent) the data directory; waits up to `lockWaitMs` for another process holding it. */
  static async open(dataDir: string, lockWaitMs: number, log: Logger, metrics: StoreMetrics): Promise<PgliteStore> {
    return PgliteStore.on(await openPgliteCluster(dataDir, lockWaitMs), log, metrics);
  }

  /** The store over a cluster already opened (`serve` begins the open early); closing the store closes it. */
  static on(cluster: PgliteCluster, log: Logger, metrics: StoreMetrics): PgliteStore {
    return new PgliteStore(cluster, log, metrics, loadMigrations('postgres'));
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

  health(): Promise<Health> {
    return schemaHealth(() => this.schemaVersion(), this.migrations);
  }

  close(): Promise<void> {
    return this.cluster.close();
  }
}
