import type sql from 'mssql';
import { openStore } from '../../src/app/open-store.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Secret } from '../../src/platform/secret.js';
import type { MssqlStore } from '../../src/store/mssql/store.js';
import { GET_APPLOCK_SQL, RELEASE_APPLOCK_SQL } from '../../src/store/mssql/sql.js';
import type { StoreConfig } from '../../src/store/store-config.js';
import { until } from './until.js';

export type MssqlConfig = Extract<StoreConfig, { kind: 'mssql' }>;

/**
 * The SQL Server the suites run against: MSSQL_URL, mssql://USER:PASSWORD@HOST:PORT/DATABASE?encrypt=true|false
 * (`.ci/run` starts the T-SQL engine of ../shared/tools/tsql-engine and sets it).
 */
export const mssqlUrl = process.env.MSSQL_URL;

/** Prints, once per suite, why the SQL Server tests of `suite` do not run. */
export function reportSkipped(suite: string): void {
  if (!mssqlUrl)
    console.info(
      `[store] ${suite} skipped: MSSQL_URL is not set (mssql://user:password@host:1433/BGSessions?encrypt=false)`,
    );
}

export function configFromUrl(raw: string, overrides: Partial<MssqlConfig> = {}): MssqlConfig {
  const u = new URL(raw);
  return {
    kind: 'mssql',
    server: u.hostname,
    port: Number(u.port || 1433),
    database: decodeURIComponent(u.pathname.slice(1)) || 'BGSessions',
    user: decodeURIComponent(u.username),
    password: new Secret(decodeURIComponent(u.password), 'env:MSSQL_URL'),
    encrypt: u.searchParams.get('encrypt') !== 'false',
    pool: { max: 10, idleTimeoutMs: 30_000 },
    requestTimeoutMs: 30_000,
    ...overrides,
  };
}

/** A database of one test file's own on the MSSQL_URL server; see `createTestDatabase`. */
export interface TestDatabase {
  /** Lower case: the T-SQL engine reports database names in lower case. */
  readonly name: string;
  /** Store settings for this database (the MSSQL_URL server and login), with `overrides`. */
  config(overrides?: Partial<MssqlConfig>): MssqlConfig;
  /** Drops the database. Close every pool on it first. */
  drop(): Promise<void>;
}

let created = 0;

/**
 * Creates an empty database on the MSSQL_URL server for one test file (or one scenario), named
 * after `suite`, this process and the time. SQL Server files then run in parallel without sharing
 * state: one file's lease sweep cannot take another's expired leases, a stale instance heartbeat,
 * the reporting leader lock and table counts stay within the file, and no rows of earlier runs
 * accumulate. On the T-SQL engine a database costs about 0.3 s to create and 2 s to migrate.
 * The login needs permission to create databases (`sa` on the T-SQL engine of the CI).
 */
export async function createTestDatabase(suite: string): Promise<TestDatabase> {
  const base = configFromUrl(mssqlUrl!);
  const label = suite.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const name = `ecm_test_${label}_${process.pid.toString(36)}_${Date.now().toString(36)}_${++created}`;
  await onMaster(base, (master) => catalogChange(master, `CREATE DATABASE [${name}]`)).catch((e: unknown) => {
    throw new Error(
      `cannot create the test database ${name} on ${base.server}:${base.port} as ${base.user} (each SQL Server test file uses its own): ${(e as Error).message}`,
    );
  });
  return {
    name,
    config: (overrides = {}) => ({ ...base, database: name, ...overrides }),
    drop: () => dropDatabase(base, name),
  };
}

/** How long a drop waits for connections that are closing (a killed process's, a pool just closed). */
const DROP_WAIT_MS = 30_000;

async function dropDatabase(base: MssqlConfig, name: string): Promise<void> {
  await onMaster(base, (master) =>
    until(
      () =>
        catalogChange(master, `DROP DATABASE [${name}]`).then(
          () => true,
          (e: Error & { number?: number }) => {
            // 3702 on SQL Server; the T-SQL engine refuses the same way under its generic number.
            if (e.number === 3702 || /currently in use/.test(e.message)) return false;
            throw new Error(`cannot drop the test database ${name}: ${e.message}`);
          },
        ),
      `the last connection to the test database ${name} closed, so it can be dropped`,
      DROP_WAIT_MS,
    ),
  );
}

/** Test files start together: one CREATE or DROP DATABASE at a time (see `catalogChange`). */
const DATABASES_LOCK = 'ecm-bridge-tests:create-drop-database';

/**
 * Runs a CREATE or DROP DATABASE under an application lock: the T-SQL engine fails one of two
 * concurrent database creations ("tuple concurrently updated"). The lock is taken on the master
 * store's one connection, not on a connection of its own: each new connection costs the T-SQL
 * engine about 0.5 s of CPU.
 */
async function catalogChange(master: MssqlStore, statement: string): Promise<void> {
  const got = await master.pool
    .request()
    .input('resource', DATABASES_LOCK)
    .input('timeoutMs', 60_000)
    .query<{ result: number }>(GET_APPLOCK_SQL);
  if (got.recordset[0]!.result < 0)
    throw new Error(`the test databases' lock was held for 60 s; not run: ${statement}`);
  try {
    await master.pool.request().query(statement);
  } finally {
    await master.pool.request().input('resource', DATABASES_LOCK).query(RELEASE_APPLOCK_SQL);
  }
}

/**
 * Runs `work` with a one-connection store on `master` (so every statement runs in one session),
 * built by the adapter's own code (TLS, CA file).
 */
async function onMaster<T>(base: MssqlConfig, work: (master: MssqlStore) => Promise<T>): Promise<T> {
  const master = (await openStore(
    { ...base, database: 'master', pool: { max: 1, idleTimeoutMs: 60_000 }, requestTimeoutMs: 90_000 },
    { log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }) },
  )) as MssqlStore;
  try {
    return await work(master);
  } finally {
    await master.close();
  }
}

/**
 * Whether the server is Babelfish (the T-SQL engine of the CI), which differs from SQL Server in
 * ways ../shared/tools/tsql-engine/README.md lists. Assertions that depend on one of those
 * differences check this and print which difference made them take the other branch.
 */
export async function isBabelfish(pool: sql.ConnectionPool): Promise<boolean> {
  const r = await pool.request().query<{ v: string }>('SELECT @@VERSION AS v');
  return r.recordset[0]!.v.includes('Babelfish');
}

/**
 * The engine's known bulk-load defect (its README): now and then it refuses a bulk insert batch as
 * a malformed TDS stream. The batch rolls back whole; the product fails that write and the next
 * run resumes from the unmoved cursor. SQL Server never says this.
 */
export function isEngineBulkRefusal(e: unknown): boolean {
  const d = e as { message?: unknown; originalError?: { message?: unknown } } | undefined;
  return /Bulk Load Request \(BulkLoadBCP\) protocol stream is incorrect/.test(
    `${String(d?.message ?? '')} ${String(d?.originalError?.message ?? '')}`,
  );
}

/** Prints why an assertion took its engine-specific branch. */
export function engineNote(what: string): void {
  console.info(`[store] Babelfish: ${what}`);
}
