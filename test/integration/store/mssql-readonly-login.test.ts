import { readFileSync } from 'node:fs';
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/app/open-store.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { BGSESSIONS_TABLES } from '../../../src/store/bgsessions-tables.js';
import { splitBatches } from '../../../src/store/migrations.js';
import type { MssqlStore } from '../../../src/store/mssql/store.js';
import {
  configFromUrl,
  createTestDatabase,
  engineNote,
  isBabelfish,
  mssqlUrl,
  reportSkipped,
  type TestDatabase,
} from '../../helpers/mssql-url.js';

/**
 * sql/mssql/readonly-login.sql run as a DBA would (sqlcmd variables, GO batches, on one
 * session), then used: the login it makes reads every BGSessions table and nothing of the
 * bridge's own schema, and every write is refused.
 */
reportSkipped('read-only login script');

const READER_PASSWORD = 'Rd0nly-Reader-Pw!2026';
/** The bridge's own tables the reader must not see (one per migration that adds them). */
const BRIDGE_TABLES = ['schema_version', 'lease', 'credential_event', 'report_cursor'];

/** sqlcmd's `$(Name)` substitution, refusing a variable the caller did not give. */
function withVariables(script: string, vars: Record<string, string>): string {
  return script.replace(/\$\((\w+)\)/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`readonly-login.sql uses $(${name}), which the test does not set`);
    return v;
  });
}

const refusal = (e: unknown) => {
  const err = e as { number?: number; message?: string };
  // 229: "The ... permission was denied on the object"; the T-SQL engine words it as PostgreSQL does.
  return err.number === 229 || /permission (was )?denied/i.test(err.message ?? '')
    ? 'refused'
    : `not refused: ${err.message}`;
};

describe.skipIf(!mssqlUrl)('sql/mssql/readonly-login.sql on a T-SQL server', () => {
  let db: TestDatabase;
  let admin: sql.ConnectionPool;
  let reader: sql.ConnectionPool;
  let babelfish = false;
  const login = `bi_reader_${process.pid.toString(36)}_${Date.now().toString(36)}`;

  beforeAll(async () => {
    db = await createTestDatabase('readonly login');
    const store = (await openStore(db.config(), {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    })) as MssqlStore;
    await store.migrate();
    await store.close();
    const base = configFromUrl(mssqlUrl!);
    // One connection: the script's `USE` holds for the batches after it, as in sqlcmd.
    admin = await new sql.ConnectionPool({
      server: base.server,
      port: base.port,
      user: base.user,
      password: base.password.reveal(),
      database: db.name,
      pool: { max: 1, min: 0 },
      options: { encrypt: base.encrypt, trustServerCertificate: true },
    }).connect();
    const script = withVariables(readFileSync('sql/mssql/readonly-login.sql', 'utf8'), {
      Database: db.name,
      ReaderLogin: login,
      ReaderPassword: READER_PASSWORD,
    });
    babelfish = await isBabelfish(admin);
    let batches = splitBatches(script);
    if (babelfish) {
      engineNote(
        "CREATE LOGIN ... CHECK_POLICY is not supported; the session's escape hatch ignores the option (the script stays as written for SQL Server)",
      );
      await admin
        .request()
        .batch("EXEC sp_babelfish_configure 'babelfishpg_tsql.escape_hatch_login_misc_options', 'ignore'");
      engineNote('DENY is not supported: the DENY on schema ecm_bridge is not run, so its privacy is not checked here');
      batches = batches.filter((b) => !/^\s*DENY\b/m.test(b));
      // IS_ROLEMEMBER of a role that does not exist is NULL, so the script's guarded ALTER ROLE is
      // silently skipped: grant what db_datareader gives on the one schema BGSessions uses instead.
      engineNote('there is no db_datareader role: SELECT on schema dbo is granted in its place');
      batches.push(`GRANT SELECT ON SCHEMA::dbo TO [${login}]`);
    }
    // Twice: re-running the script must change nothing and fail nowhere.
    for (let run = 0; run < 2; run++) for (const batch of batches) await admin.request().batch(batch);
    reader = await new sql.ConnectionPool({
      server: base.server,
      port: base.port,
      user: login,
      password: READER_PASSWORD,
      database: db.name,
      pool: { max: 1, min: 0 },
      options: { encrypt: base.encrypt, trustServerCertificate: true },
    }).connect();
  }, 120_000);

  afterAll(async () => {
    await reader?.close();
    // The database (and the login's user in it) goes first: a login's grants keep its user.
    await admin?.request().batch('USE master');
    await db?.drop();
    await admin?.request().batch(`IF SUSER_ID(N'${login}') IS NOT NULL DROP LOGIN [${login}]`);
    await admin?.close();
  }, 120_000);

  it('the login reads every BGSessions table', async () => {
    for (const t of BGSESSIONS_TABLES) {
      const r = await reader.request().query(`SELECT COUNT(*) AS n FROM dbo.${t.name}`);
      expect(r.recordset[0]).toEqual({ n: 0 });
    }
  });

  it('the login is refused every write to BGSessions, and any read or write of ecm_bridge', async () => {
    const attempts: Record<string, string> = {};
    const attempt = async (what: string, statement: string) => {
      attempts[what] = await reader
        .request()
        .batch(statement)
        .then(() => 'accepted', refusal);
    };
    for (const t of BGSESSIONS_TABLES) {
      const first = t.columns[0]!.name;
      await attempt(`insert ${t.name}`, `INSERT INTO dbo.${t.name} (${first}) VALUES (NULL)`);
      await attempt(`update ${t.name}`, `UPDATE dbo.${t.name} SET ${first} = ${first}`);
      await attempt(`delete ${t.name}`, `DELETE FROM dbo.${t.name}`);
    }
    await attempt('truncate session_event_data', 'TRUNCATE TABLE dbo.session_event_data');
    await attempt('create table', 'CREATE TABLE dbo.reader_was_here (id int)');
    for (const t of BRIDGE_TABLES) {
      // The DENY that keeps ecm_bridge private cannot run on the T-SQL engine (see beforeAll).
      if (!babelfish) await attempt(`select ecm_bridge.${t}`, `SELECT TOP 1 * FROM ecm_bridge.${t}`);
      await attempt(`delete ecm_bridge.${t}`, `DELETE FROM ecm_bridge.${t}`);
    }
    const notRefused = Object.entries(attempts).filter(([, outcome]) => outcome !== 'refused');
    expect(notRefused).toEqual([]);
    expect(Object.keys(attempts)).toHaveLength(
      BGSESSIONS_TABLES.length * 3 + 2 + BRIDGE_TABLES.length * (babelfish ? 1 : 2),
    );
  });
});
