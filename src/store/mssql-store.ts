import { readFileSync } from 'node:fs';
import sql from 'mssql';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../platform/clock.js';
import type { StoreConfig } from './store-config.js';
import { ServiceError } from '../platform/errors.js';
import { loadMigrations, schemaHealth, splitBatches, type Migration } from './migrations.js';
import { MssqlReportStore } from './mssql-report-store.js';
import type { RetryPolicy } from './mssql-retry.js';
import { MssqlStateStore } from './mssql-state-store.js';
import { GET_APPLOCK_SQL, RECORD_MIGRATION_SQL, RELEASE_APPLOCK_SQL, SCHEMA_VERSION_SQL } from './mssql-sql.js';
import type { StoreMetrics } from './store-metrics.js';
import type { LeaderLock, LockHandle } from '../reporting/report-store-port.js';
import type { Store } from './store-ports.js';

type MssqlConfig = Extract<StoreConfig, { kind: 'mssql' }>;

/** How long `db migrate` waits for another process's migration before giving up. */
const MIGRATE_LOCK_WAIT_MS = 120_000;
const MIGRATE_LOCK = 'ecm-bridge:migrate';

function poolConfig(c: MssqlConfig, max: number, idleTimeoutMillis: number): sql.config {
  let ca: Buffer | undefined;
  try {
    ca = c.caFile ? readFileSync(c.caFile) : undefined;
  } catch (e) {
    throw new ServiceError(
      'store.unavailable',
      `cannot read store.caFile ${c.caFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      { op: 'store.open', cause: e },
    );
  }
  return {
    server: c.server,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password.reveal(),
    pool: { max, min: 0, idleTimeoutMillis },
    requestTimeout: c.requestTimeoutMs,
    connectionTimeout: 15_000,
    options: {
      encrypt: c.encrypt,
      trustServerCertificate: false,
      appName: 'ecm-bridge',
      ...(ca ? { cryptoCredentialsDetails: { ca } } : {}),
    },
  };
}

/** Names the server and account, never the password, for any failure to connect. */
function connectError(c: MssqlConfig, e: unknown): ServiceError {
  const reason = (e as Error | undefined)?.message ?? 'connection failed';
  return new ServiceError(
    'store.unavailable',
    `cannot connect to SQL Server ${c.server}:${c.port} database ${c.database} as ${c.user}: ${reason}`,
    { op: 'store.open', cause: e },
  );
}

/**
 * Leader lock on SQL Server: sp_getapplock (Exclusive, Session owner) taken on a connection of
 * its own, so the lock lives exactly as long as that connection; if the holder dies, the server
 * releases it. `waitMs` 0 means try once (tryAcquire); migrations wait.
 */
export class MssqlLeaderLock implements LeaderLock {
  constructor(private readonly config: MssqlConfig) {}

  tryAcquire(name: string): Promise<LockHandle | undefined> {
    return this.acquire(name, 0);
  }

  async acquire(name: string, waitMs: number): Promise<LockHandle | undefined> {
    // One connection that never idles out (closing it would drop the lock), whose request
    // timeout outlasts the wait for the lock. A try that fails closes it rather than keeping it
    // for the next try: on the T-SQL engine of the CI (Babelfish 4.3) about five refused
    // sp_getapplock calls on one session crash the server (PANIC: ERRORDATA_STACK_SIZE exceeded).
    const conn = new sql.ConnectionPool({
      ...poolConfig(this.config, 1, 2 ** 31 - 1),
      requestTimeout: Math.max(this.config.requestTimeoutMs, waitMs + 15_000),
    });
    try {
      await conn.connect();
    } catch (e) {
      throw connectError(this.config, e);
    }
    try {
      const res = await conn
        .request()
        .input('resource', sql.NVarChar(255), name)
        .input('timeoutMs', sql.Int, waitMs)
        .query<{ result: number }>(GET_APPLOCK_SQL);
      if (res.recordset[0]!.result < 0) {
        await conn.close();
        return undefined;
      }
    } catch (e) {
      await conn.close();
      throw new ServiceError('store.unavailable', `cannot take the database lock ${name}: ${(e as Error).message}`, {
        op: 'store.lock',
        cause: e,
      });
    }
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        try {
          await conn.request().input('resource', sql.NVarChar(255), name).query(RELEASE_APPLOCK_SQL);
        } finally {
          await conn.close();
        }
      },
    };
  }
}

/**
 * The SQL Server store: one connection pool for reads and writes, leader locks on dedicated
 * connections, migrations serialised across processes by an application lock.
 */
export class MssqlStore implements Store {
  readonly reports: MssqlReportStore;
  readonly state: MssqlStateStore;
  readonly lock: MssqlLeaderLock;

  private constructor(
    /** The pool, for tooling and tests that need raw SQL; application code uses the ports. */
    readonly pool: sql.ConnectionPool,
    private readonly config: MssqlConfig,
    private readonly log: Logger,
    private readonly migrations: Migration[],
    metrics: StoreMetrics,
    retry: RetryPolicy,
  ) {
    this.reports = new MssqlReportStore(pool, metrics, retry);
    this.state = new MssqlStateStore(pool, metrics, retry);
    this.lock = new MssqlLeaderLock(config);
  }

  static async open(
    config: MssqlConfig,
    log: Logger,
    metrics: StoreMetrics,
    clock: Clock = systemClock,
  ): Promise<MssqlStore> {
    const pool = new sql.ConnectionPool(poolConfig(config, config.pool.max, config.pool.idleTimeoutMs));
    pool.on('error', (e: unknown) => log.warn({ err: e }, 'SQL Server pool error'));
    try {
      await pool.connect();
    } catch (e) {
      throw connectError(config, e);
    }
    return new MssqlStore(pool, config, log, loadMigrations('mssql'), metrics, {
      attempts: 4,
      baseDelayMs: 200,
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

  health(): Promise<{ ok: boolean; reason?: string }> {
    return schemaHealth(() => this.schemaVersion(), this.migrations);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
