import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreConfig } from '../../../src/store/store-config.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Secret } from '../../../src/platform/secret.js';
import { loadMigrations, splitBatches } from '../../../src/store/migrations.js';
import type { MssqlStore } from '../../../src/store/mssql-store.js';
import { openStore } from '../../../src/app/open-store.js';
import { describeStoreContract, FAIL_VALUE } from './store-contract.js';

/**
 * The SQL Server run of the contract suite, plus what only a real server can show (index script
 * twice, concurrent migrations, the applock leader lock across connections).
 * MSSQL_URL: mssql://USER:PASSWORD@HOST:PORT/DATABASE?encrypt=true|false (an empty database).
 */
const url = process.env.MSSQL_URL;
if (!url)
  console.info(
    '[store] SQL Server suites skipped: MSSQL_URL is not set (mssql://user:password@host:1433/BGSessions?encrypt=false)',
  );

function configFromUrl(raw: string): Extract<StoreConfig, { kind: 'mssql' }> {
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
  };
}

const open = () =>
  openStore(configFromUrl(url!), { log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }) });

describe.skipIf(!url)('SQL Server (MSSQL_URL)', () => {
  describeStoreContract('SQL Server', {
    open,
    async sessionIds(store, lsids) {
      const req = (store as MssqlStore).pool.request();
      lsids.forEach((l, i) => req.input(`l${i}`, sql.NVarChar(64), l));
      const r = await req.query<{ lsid: string; id: string }>(
        `SELECT lsid, id FROM dbo.session WHERE lsid IN (${lsids.map((_, i) => `@l${i}`).join(', ')})`,
      );
      return new Map(r.recordset.map((x) => [x.lsid, Number(x.id)]));
    },
    async injectFailure(store) {
      const pool = (store as MssqlStore).pool;
      await pool
        .request()
        .query(`IF OBJECT_ID(N'dbo.fail_marked_attribute', N'TR') IS NOT NULL DROP TRIGGER dbo.fail_marked_attribute`);
      await pool.request().query(`CREATE TRIGGER dbo.fail_marked_attribute ON dbo.custom_attribute AFTER INSERT AS
        IF EXISTS (SELECT 1 FROM inserted WHERE value = N'${FAIL_VALUE}') THROW 50000, 'injected failure', 1;`);
    },
  });

  describe('SQL Server only', () => {
    let a: MssqlStore;
    let b: MssqlStore;
    beforeAll(async () => {
      const [x, y] = (await Promise.all([open(), open()])) as MssqlStore[];
      [a, b] = [x!, y!];
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    const indexes = async () =>
      (
        await a.pool.request().query<{ t: string; i: string; cols: string }>(
          `SELECT OBJECT_NAME(ix.object_id) AS t, ix.name AS i, STRING_AGG(c.name, ',') WITHIN GROUP (ORDER BY ic.key_ordinal) AS cols
       FROM sys.indexes ix JOIN sys.index_columns ic ON ic.object_id = ix.object_id AND ic.index_id = ix.index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
       WHERE ix.name LIKE N'%[_]ndx' GROUP BY ix.object_id, ix.name ORDER BY ix.name`,
        )
      ).recordset;

    it('two concurrent migrations both succeed and apply each version once', async () => {
      const [va, vb] = await Promise.all([a.migrate(), b.migrate()]);
      expect(va).toBe(vb);
      const rows = (
        await a.pool
          .request()
          .query<{ version: number }>('SELECT version FROM ecm_bridge.schema_version ORDER BY version')
      ).recordset;
      expect(rows.map((r) => r.version)).toEqual(loadMigrations('mssql').map((m) => m.version));
    });

    it('the index script run twice more is a no-op', async () => {
      const before = await indexes();
      expect(before.filter((x) => x.i === 'session_event__type_performed_by_type_ndx').map((x) => x.cols)).toEqual([
        'type,performed_by_type',
      ]);
      for (let run = 0; run < 2; run++) {
        for (const batch of splitBatches(loadMigrations('mssql').find((m) => m.name === 'bgsessions_indexes')!.sql))
          await a.pool.request().query(batch);
      }
      expect(await indexes()).toEqual(before);
    });

    it('the leader lock excludes a holder on another connection until released', async () => {
      const name = `ecm-bridge:test:${process.pid}:${Date.now()}`;
      const held = await a.lock.tryAcquire(name);
      expect(held).toBeDefined();
      expect(await b.lock.tryAcquire(name)).toBeUndefined();
      await held!.release();
      const next = await b.lock.tryAcquire(name);
      expect(next).toBeDefined();
      await next!.release();
    });
  });
});
