import sql from 'mssql';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import { loadMigrations, schemaHealth, splitBatches, type Migration } from '../migrations.js';
import { MssqlReportStore } from './report-store.js';
import type { StoreRetries } from './retry.js';
import { MssqlStateStore } from './state-store.js';
import { connectError, connectionSettings, type MssqlConfig } from './connection.js';
import { MssqlFailbackStore } from './failback-store.js';
import { MssqlLeaderLeases } from './leader-leases.js';
import { MssqlLeaderLock } from './leader-lock.js';
import { RECORD_MIGRATION_SQL, SCHEMA_VERSION_SQL } from './sql.js';
import type { StoreMetrics } from '../store-metrics.js';
import type { Store } from '../store-ports.js';
import type { Health } from '../../platform/health.js';

/** How long `db migrate` waits for another process's migration before giving up. */
const MIGRATE_LOCK_WAIT_MS = 120_000;
const MIGRATE_LOCK = 'ecm-bridge:migrate';

/**
 * The SQL Server store: one connection pool for reads, writes and the reporting leadership's
 * lease; migrations serialised across processes by an application lock on a connection of its own.
 */
export class MssqlStore implements Store {
  readonly reports: MssqlReportStore;
  readonly state: MssqlStateStore;
  readonly lock: MssqlLeaderLock;
  readonly leadership: MssqlLeaderLeases;
  readonly failback: MssqlFailbackStore;

  private constructor(
    /** The pool, for tooling and tests that need raw SQL; application code uses the ports. */
    readonly pool: sql.ConnectionPool,
    private readonly config: MssqlConfig,
    private readonly log: Logger,
    private readonly migrations: Migration[],
    metrics: StoreMetrics,
    retry: StoreRetries,
  ) {
    this.reports = new MssqlReportStore(pool, metrics, retry);
    this.state = new MssqlStateStore(pool, metrics, retry);
    this.lock = new MssqlLeaderLock(config);
    this.leadership = new MssqlLeaderLeases(pool, retry);
    this.failback = new MssqlFailbackStore(pool, retry);
  }

  static async open(
    config: MssqlConfig,
    log: Logger,
    metrics: StoreMetrics,
    clock: Clock = systemClock,
  ): Promise<MssqlStore> {
    const pool = new sql.ConnectionPool({
      ...connectionSettings(config),
      pool: { max: config.pool.max, min: 0, idleTimeoutMillis: config.pool.idleTimeoutMs },
    });
    pool.on('error', (e: unknown) => log.warn({ err: e }, 'SQL Server pool error'));
    try {
      await pool.connect();
    } catch (e) {
      throw connectError(config, e);
    }
    return new MssqlStore(pool, config, log, loadMigrations('mssql'), metrics, {
      policy: { max: 3, baseDelayMs: 200, maxDelayMs: 800 },
      clock,
    });
  }

  async migrate(): Promise<number> {
    const handle = await this.lock.acquire(MIGRATE_LOCK, MIGRATE_LOCK_WAIT_MS);
    if (!handle) {
      throw new ServiceError(
        'store.migration_failed',
        `another process held the migration lock for more than ${MIGRATE_LOCK_WAIT_MS / 1000} s`,
        { op: 'store.migrate' },
      );
    }
    try {
      const applied = await this.schemaVersion();
      for (const m of this.migrations.filter((x) => x.version > applied)) {
        await this.#apply(m);
        this.log.info({ version: m.version, migration: m.name }, 'applied schema migration');
      }
      return await this.schemaVersion();
    } finally {
      await handle.release();
    }
  }

  /** One migration and its ledger row in one transaction: it applies entirely or not at all. */
  async #apply(m: Migration): Promise<void> {
    const tx = new sql.Transaction(this.pool);
    try {
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      for (const batch of splitBatches(m.sql)) await new sql.Request(tx).query(batch);
      await new sql.Request(tx)
        .input('version', sql.Int, m.version)
        .input('name', sql.NVarChar(200), m.name)
        .query(RECORD_MIGRATION_SQL);
      await tx.commit();
    } catch (e) {
      await tx.rollback().catch(() => undefined);
      throw new ServiceError(
        'store.migration_failed',
        `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`,
        { op: 'store.migrate', cause: e },
      );
    }
  }

  async schemaVersion(): Promise<number> {
    try {
      return Number((await this.pool.request().query<{ v: number }>(SCHEMA_VERSION_SQL)).recordset[0]!.v);
    } catch (e) {
      throw connectError(this.config, e);
    }
  }

  health(): Promise<Health> {
    return schemaHealth(() => this.schemaVersion(), this.migrations);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
