import sql from 'mssql';
import { bindAll } from './params.js';
import { withRetry, type StoreRetries } from './retry.js';
import type { LeaderLeases, LeaderTerm } from '../../reporting/report-store-port.js';

/**
 * The statements of a lease (sql/mssql/010). A take is an UPDATE of a lapsed row or an INSERT of
 * a missing one: a plain UPDATE locks its row until it ends on SQL Server and on Babelfish alike,
 * and re-checks `expires_at` after a concurrent renewal it waited for, so of a take and a renewal
 * (or two takes) one wins. Two INSERTs of a missing row meet on the primary key: the loser is
 * refused (2627) and stands by. No lock hint or isolation level is needed (Babelfish ignores
 * HOLDLOCK, and runs SERIALIZABLE as SSI).
 */
const TAKE_LAPSED_SQL = `UPDATE ecm_bridge.leader_lease SET holder = @holder, epoch = epoch + 1, expires_at = @until
OUTPUT inserted.epoch WHERE name = @name AND expires_at < @now`;
const TAKE_MISSING_SQL = `INSERT INTO ecm_bridge.leader_lease (name, holder, epoch, expires_at) OUTPUT inserted.epoch
SELECT @name, @holder, 1, @until WHERE NOT EXISTS (SELECT 1 FROM ecm_bridge.leader_lease WHERE name = @name)`;
const RENEW_SQL = `UPDATE ecm_bridge.leader_lease SET expires_at = @until
WHERE name = @name AND holder = @holder AND epoch = @epoch`;
const DUPLICATE_KEY = new Set([2627, 2601]);

/** Renews `fence`'s term to its expiry on `on` (the pool, or a commit's transaction); false when the term is over. */
export async function renewTerm(
  on: sql.ConnectionPool | sql.Transaction,
  fence: LeaderTerm & { until: Date },
): Promise<boolean> {
  const r = await bindAll(new sql.Request(on as sql.ConnectionPool), {
    name: fence.name,
    holder: fence.holder,
    epoch: fence.epoch,
    until: fence.until,
  }).query(RENEW_SQL);
  return (r.rowsAffected[0] ?? 0) > 0;
}

/** LeaderLeases on SQL Server (and the T-SQL engine of the CI), over the store's pool. */
export class MssqlLeaderLeases implements LeaderLeases {
  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly retry: StoreRetries,
  ) {}

  take(name: string, holder: string, now: Date, until: Date): Promise<LeaderTerm | undefined> {
    // Not idempotent: a take applied whose answer was lost is not repeated (it would be refused
    // by its own row); that term lapses unused after one lease.
    return withRetry(
      'store.leaderTake',
      this.retry,
      'store.write_failed',
      async () => {
        const values = { name, holder, now, until };
        const lapsed = await bindAll(this.pool.request(), values).query<{ epoch: number }>(TAKE_LAPSED_SQL);
        let row = lapsed.recordset[0];
        if (!row) {
          try {
            row = (await bindAll(this.pool.request(), values).query<{ epoch: number }>(TAKE_MISSING_SQL)).recordset[0];
          } catch (e) {
            if (DUPLICATE_KEY.has(Number((e as { number?: unknown }).number))) return undefined;
            throw e;
          }
        }
        return row && { name, holder, epoch: Number(row.epoch) };
      },
      false,
    );
  }

  renew(term: LeaderTerm, until: Date): Promise<boolean> {
    return withRetry('store.leaderRenew', this.retry, 'store.write_failed', () =>
      renewTerm(this.pool, { ...term, until }),
    );
  }

  async release(term: LeaderTerm): Promise<void> {
    await this.renew(term, new Date(0));
  }
}
