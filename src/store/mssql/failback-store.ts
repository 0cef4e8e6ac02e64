import sql from 'mssql';
import type { CommitFence, FailbackState, FailbackStore } from '../../reporting/report-store-port.js';
import { failbackFromRow, failbackRow } from '../failback-rows.js';
import { leaderLost } from '../leader-lost.js';
import { renewTerm } from './leader-leases.js';
import { bindAll } from './params.js';
import { upsertRowSql } from './sql.js';
import { withRetry, type StoreRetries } from './retry.js';

const UPSERT_SQL = upsertRowSql(
  'ecm_bridge.failback_state',
  'site',
  ['site', 'primary_node', 'reread_from', 'sync_after'],
  'updated_at',
);
const GET_SQL = 'SELECT primary_node, reread_from, sync_after FROM ecm_bridge.failback_state WHERE site = @site';

/**
 * FailbackStore on SQL Server (sql/mssql/012): one row per site. A fenced put renews its term
 * first, in the same transaction (the renewal locks the lease row until the commit, as for a
 * batch). The put is an upsert, so a retry after a lost connection or a racing insert is safe.
 */
export class MssqlFailbackStore implements FailbackStore {
  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly retry: StoreRetries,
  ) {}

  async get(site: string): Promise<FailbackState | undefined> {
    const r = await withRetry('store.failback', this.retry, 'store.unavailable', () =>
      bindAll(this.pool.request(), { site }).query<Record<string, unknown>>(GET_SQL),
    );
    return r.recordset[0] && failbackFromRow(r.recordset[0]);
  }

  async put(site: string, state: FailbackState, fence?: CommitFence): Promise<void> {
    await withRetry('store.failback', this.retry, 'store.write_failed', async () => {
      const tx = new sql.Transaction(this.pool);
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      try {
        if (fence && !(await renewTerm(tx, fence))) throw leaderLost(fence);
        await bindAll(new sql.Request(tx), { site, ...failbackRow(state) }).query(UPSERT_SQL);
        await tx.commit();
      } catch (e) {
        await tx.rollback().catch(() => undefined);
        throw e;
      }
    });
  }
}
