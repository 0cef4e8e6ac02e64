import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import sql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { loadMigrations, splitBatches } from '../../../src/store/migrations.js';
import { renewTerm } from '../../../src/store/mssql/leader-leases.js';
import { MssqlLeaderLock } from '../../../src/store/mssql/leader-lock.js';
import { MssqlStore } from '../../../src/store/mssql/store.js';
import { openStore } from '../../../src/app/open-store.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';
import type { Lease } from '../../../src/broker/lease-store-port.js';
import {
  createTestDatabase,
  engineNote,
  isBabelfish,
  isEngineBulkRefusal,
  mssqlUrl,
  reportSkipped,
  type MssqlConfig,
  type TestDatabase,
} from '../../helpers/mssql-url.js';
import { until } from '../../helpers/until.js';
import { makeSession } from './session-fixture.js';
import { describeStoreContract, FAIL_VALUE } from './store-contract.js';

/**
 * The SQL Server run of the contract suite, plus what only a real server can show (index script
 * twice, concurrent migrations, the applock leader lock across connections, racing writers,
 * isolation level and lock timeouts on pooled connections). Runs on SQL Server and on the T-SQL
 * engine of the CI (Babelfish); where the two differ, the assertion says which and why.
 */
reportSkipped('SQL Server suites');

const metrics = () => createMetricsRegistry({ defaultMetrics: false });
/** This file's own database (created before its tests, dropped after them). */
let db: TestDatabase;
const open = (overrides: Partial<MssqlConfig> = {}) =>
  openStore(db.config(overrides), { log: silentLogger(), metrics: metrics() }) as Promise<MssqlStore>;
const FAIL_CHECK = 'custom_attribute_injected_failure_ck';

let unique = 0;
const key = (label: string) => `${label}-${process.pid}-${Date.now().toString(36)}-${++unique}`;

describe.skipIf(!mssqlUrl)('SQL Server (MSSQL_URL)', () => {
  beforeAll(async () => {
    db = await createTestDatabase('store contract');
  });
  afterAll(async () => db?.drop());

  describeStoreContract('SQL Server', {
    open: () => open(),
    async sessionIds(store, lsids) {
      const req = (store as MssqlStore).pool.request();
      lsids.forEach((l, i) => req.input(`l${i}`, sql.NVarChar(64), l));
      const r = await req.query<{ lsid: string; id: string }>(
        `SELECT lsid, id FROM dbo.session WHERE lsid IN (${lsids.map((_, i) => `@l${i}`).join(', ')})`,
      );
      return new Map(r.recordset.map((x) => [x.lsid, Number(x.id)]));
    },
    async injectFailure(store) {
      await (store as MssqlStore).pool.request().query(`IF OBJECT_ID(N'dbo.${FAIL_CHECK}', N'C') IS NULL
        ALTER TABLE dbo.custom_attribute ADD CONSTRAINT ${FAIL_CHECK} CHECK (value IS NULL OR value <> N'${FAIL_VALUE}')`);
    },
  });

  describe('SQL Server only', () => {
    let a: MssqlStore;
    let b: MssqlStore;
    let babelfish = false;
    beforeAll(async () => {
      [a, b] = await Promise.all([open(), open()]);
      babelfish = await isBabelfish(a.pool);
    });
    // The constraint injectFailure added goes with the database.
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    /**
     * The non-key indexes of the BGSessions tables as `table(columns)`, duplicates kept. By table
     * and columns rather than by name: Babelfish reports sys.indexes.name as an internal hashed
     * name, while the columns are what matters to BeyondInsight's queries.
     */
    const indexes = async () =>
      (
        await a.pool.request().query<{ ix: string }>(
          `SELECT OBJECT_NAME(ix.object_id) + N'(' + STRING_AGG(c.name, ',') WITHIN GROUP (ORDER BY ic.key_ordinal) + N')' AS ix
       FROM sys.indexes ix JOIN sys.index_columns ic ON ic.object_id = ix.object_id AND ic.index_id = ix.index_id
       JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
       WHERE ix.is_primary_key = 0 AND ix.is_unique_constraint = 0 AND ix.is_unique = 0
         AND OBJECT_SCHEMA_NAME(ix.object_id) = N'dbo'
       GROUP BY ix.object_id, ix.index_id`,
        )
      ).recordset
        .map((r) => r.ix)
        .sort();

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
      expect(before).toEqual(
        [
          'session(start_time)',
          'session(host_name)',
          'session(jump_group_name)',
          'session(lsid)',
          'session_event(type,performed_by_type)',
          'session_event(session_id)',
          'session_event(type,destination)',
          'session_event(type,performed_by)',
          'session_event_data(session_event_id)',
          'session_event_data(name)',
          'system_information(session_event_id)',
        ].sort(),
      );
      const script = splitBatches(loadMigrations('mssql').find((m) => m.name === 'bgsessions_indexes')!.sql);
      let refused = 0;
      for (let run = 0; run < 2; run++) {
        for (const batch of script) {
          if (!babelfish) {
            await a.pool.request().query(batch);
            continue;
          }
          // The guard looks the index up by name, which Babelfish hashes: CREATE INDEX runs
          // again and the engine refuses the existing name (2714), so no duplicate appears.
          const err = await a.pool
            .request()
            .query(batch)
            .then(
              () => undefined,
              (e: unknown) => e as { number?: number },
            );
          if (err) {
            expect(err.number).toBe(2714);
            refused++;
          }
        }
      }
      if (babelfish)
        engineNote(
          `sys.indexes.name is hashed, so the index script's name guard never matches; ${refused} re-created index(es) refused with 2714 instead (SQL Server: the guard skips them)`,
        );
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

    it('a leader lock try logs in once: taken, refused or released, each try opens one session and keeps none it lost', async () => {
      // A TCP forwarder in front of the server counts sessions (logins) and those still open.
      const target = db.config();
      const open = new Set<Socket>();
      let sessions = 0;
      const forwarder = createServer((client) => {
        sessions++;
        const upstream = connect(target.port, target.server);
        for (const s of [client, upstream]) {
          open.add(s);
          s.on('close', () => open.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      await new Promise<void>((r) => forwarder.listen(0, '127.0.0.1', r));
      const lock = new MssqlLeaderLock(
        db.config({ server: '127.0.0.1', port: (forwarder.address() as AddressInfo).port }),
      );
      const name = `ecm-bridge:test:${process.pid}:${Date.now()}:logins`;
      try {
        const held = await lock.tryAcquire(name);
        expect(held).toBeDefined();
        expect(sessions).toBe(1);
        expect(await lock.tryAcquire(name)).toBeUndefined();
        expect(sessions).toBe(2);
        // The refused try's session is closed, not kept: only the holder's stays open (both ends).
        await until(() => open.size === 2, 'the refused session closed');
        await held!.release();
        await until(() => open.size === 0, 'the holder session closed');
        expect(sessions).toBe(2);
      } finally {
        forwarder.close();
        for (const s of open) s.destroy();
      }
    });

    it('two replicas storing the same new sessions at once: one inserts, the other updates, no error', async () => {
      // Several rounds: on SQL Server UPDLOCK+HOLDLOCK serialise the writers; on Babelfish the
      // hints are ignored and the slower insert meets the faster one's key (2627), retried as update.
      // A round the engine's bulk-load defect refuses is rolled back whole and played again with
      // new keys, as the worker's next run would resume (bounded: a persistent refusal fails).
      for (let round = 0, refused = 0; round < 4; round++) {
        const batch = [makeSession(key('race')), makeSession(key('race')), makeSession(key('race'))];
        const settled = await Promise.allSettled([a.reports.writeSessions(batch), b.reports.writeSessions(batch)]);
        const refusal = settled.find((r) => r.status === 'rejected' && babelfish && isEngineBulkRefusal(r.reason));
        if (refusal && ++refused <= 10) {
          engineNote('a bulk load batch was refused (the engine defect in its README); the round is played again');
          round--;
          continue;
        }
        const results = settled.map((r) => {
          if (r.status === 'rejected') throw r.reason;
          return r.value;
        });
        expect(results.map((r) => r.inserted).sort()).toEqual([0, 3]);
        expect(results.map((r) => r.updated).sort()).toEqual([0, 3]);
        for (const s of batch) expect(await a.reports.readSession(s.hostName, s.lsid)).toEqual(s);
      }
    });

    it('two replicas upserting the same new state row at once both succeed (instance heartbeat, lease)', async () => {
      for (let round = 0; round < 4; round++) {
        const instance = key('replica');
        await Promise.all([
          a.state.touchInstance(instance, new Date(Date.UTC(2026, 0, 1))),
          b.state.touchInstance(instance, new Date(Date.UTC(2026, 0, 2))),
        ]);
        expect(await a.state.staleInstances(new Date(Date.UTC(2026, 0, 3)))).toContain(instance);
        const l = lease(key('lease'));
        await Promise.all([a.state.putLease(l), b.state.putLease(l)]);
        expect(await b.state.getLease(l.leaseId)).toEqual(l);
      }
    });

    it('a take of a lapsed leadership waits for a fenced commit in flight and sees its renewal: never two leaders', async () => {
      const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);
      const name = key('lead-race');
      const term = (await a.leadership.take(name, 'replica-a', at(0), at(30)))!;
      // A store whose one connection gives up on a lock after 200 ms; its retry backoff tells the
      // test that a take attempt met the commit's row lock (instead of reading past it).
      let blocked!: () => void;
      const metLock = new Promise<void>((resolve) => (blocked = resolve));
      const clock: Clock = {
        now: () => Date.now(),
        sleep: (ms, signal) => {
          blocked();
          return systemClock.sleep(ms, signal);
        },
      };
      const impatient = await MssqlStore.open(
        db.config({ pool: { max: 1, idleTimeoutMs: 30_000 } }),
        silentLogger(),
        new StoreMetrics(metrics(), 'mssql'),
        clock,
      );
      const commit = new sql.Transaction(a.pool);
      try {
        await impatient.pool.request().query('SET LOCK_TIMEOUT 200');
        await commit.begin();
        // replica-a's commit has renewed its term (to 100 s) and not committed yet ...
        expect(await renewTerm(commit, { ...term, until: at(100) })).toBe(true);
        // ... when replica-b, whose clock says the 30 s lease lapsed, tries to take it.
        const take = impatient.leadership.take(name, 'replica-b', at(31), at(61));
        await Promise.race([metLock, take]); // a take that does not wait for the commit ends the test here
        await commit.commit();
        expect(await take).toBeUndefined();
        expect(await a.leadership.renew(term, at(130))).toBe(true);
      } finally {
        await commit.rollback().catch(() => undefined);
        await impatient.close();
      }
    });

    it('readSession leaves its pooled connection at READ COMMITTED (isolation level restored)', async () => {
      const one = await open({ pool: { max: 1, idleTimeoutMs: 30_000 } });
      try {
        const s = makeSession(key('iso'));
        await one.reports.writeSessions([s]);
        expect(await one.reports.readSession(s.hostName, s.lsid)).toEqual(s);
        expect(await one.reports.readSession(s.hostName, key('absent'))).toBeUndefined();
        // 2 = READ COMMITTED, 4 = SERIALIZABLE (the pool has one connection: the reader's).
        const level = await one.pool
          .request()
          .query<{ l: number }>(
            'SELECT transaction_isolation_level AS l FROM sys.dm_exec_sessions WHERE session_id = @@SPID',
          );
        expect(level.recordset[0]!.l).toBe(2);
      } finally {
        await one.close();
      }
    });

    it('a write that meets a lock timeout is retried after the lock is released', async () => {
      // A store whose one connection gives up on a lock after 200 ms, and whose retry backoff
      // tells the test when the first attempt failed.
      let backoffs = 0;
      let firstBackoff!: () => void;
      const failedOnce = new Promise<void>((resolve) => (firstBackoff = resolve));
      const clock: Clock = {
        now: () => Date.now(),
        sleep: (ms, signal) => {
          backoffs++;
          firstBackoff();
          return systemClock.sleep(ms, signal);
        },
      };
      const config = db.config({ pool: { max: 1, idleTimeoutMs: 30_000 } });
      const impatient = await MssqlStore.open(config, silentLogger(), new StoreMetrics(metrics(), 'mssql'), clock);
      const l = lease(key('locked'));
      await a.state.putLease(l);
      const holder = new sql.Transaction(a.pool);
      try {
        await impatient.pool.request().query('SET LOCK_TIMEOUT 200');
        await holder.begin();
        await new sql.Request(holder)
          .input('id', sql.NVarChar(128), l.leaseId)
          .query('UPDATE ecm_bridge.lease SET owner = owner WHERE lease_id = @id');
        const write = impatient.state.putLease({ ...l, owner: 'successor' });
        await Promise.race([failedOnce, write]); // a write that fails instead of retrying fails the test here
        await holder.commit();
        await write;
        expect(backoffs).toBeGreaterThanOrEqual(1);
        expect((await a.state.getLease(l.leaseId))!.owner).toBe('successor');
      } finally {
        await holder.rollback().catch(() => undefined);
        await impatient.close();
      }
    });
  });
});

/** Dated 2099 so that no lease sweep (of anything sharing the database) takes it as expired. */
function lease(id: string): Lease {
  return {
    leaseId: id,
    vaultRequestId: `req-${id}`,
    owner: 'replica-a',
    site: 'corp-pra',
    consoleUser: 'zoë',
    vaultUser: 'CORP\\zoe',
    systemId: 12,
    systemName: 'srv-01',
    accountId: 34,
    accountName: 'Administrator',
    lsid: null,
    auditId: null,
    createdAt: new Date(Date.UTC(2099, 10, 22, 10, 0, 0)),
    expiresAt: new Date(Date.UTC(2099, 10, 22, 11, 0, 0)),
  };
}
