import type sql from 'mssql';
import type { StoreConfig } from '../../src/store/store-config.js';
import { Secret } from '../../src/platform/secret.js';

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

/**
 * Whether the server is Babelfish (the T-SQL engine of the CI), which differs from SQL Server in
 * ways ../shared/tools/tsql-engine/README.md lists. Assertions that depend on one of those
 * differences check this and print which difference made them take the other branch.
 */
export async function isBabelfish(pool: sql.ConnectionPool): Promise<boolean> {
  const r = await pool.request().query<{ v: string }>('SELECT @@VERSION AS v');
  return r.recordset[0]!.v.includes('Babelfish');
}

/** Prints why an assertion took its engine-specific branch. */
export function engineNote(what: string): void {
  console.info(`[store] Babelfish: ${what}`);
}
