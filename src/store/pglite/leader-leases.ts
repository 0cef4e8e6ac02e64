import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { LeaderLeases, LeaderTerm } from '../../reporting/report-store-port.js';

/** Renews `fence`'s term to its expiry on `db` (a commit's transaction); false when the term is over. */
export async function renewTerm(db: Pick<Transaction, 'query'>, fence: LeaderTerm & { until: Date }): Promise<boolean> {
  const r = await db.query(
    'UPDATE ecm_bridge.leader_lease SET expires_at = $4 WHERE name = $1 AND holder = $2 AND epoch = $3',
    [fence.name, fence.holder, fence.epoch, fence.until],
  );
  return (r.affectedRows ?? 0) > 0;
}

/**
 * LeaderLeases on PGlite: the same row and statements as on SQL Server (sql/postgres/010). One
 * process serves a data directory, so there is never a second holder to fence here; the lease
 * keeps the embedded store on the one commit path (a fenced batch) of the shared ones.
 */
export class PgliteLeaderLeases implements LeaderLeases {
  constructor(private readonly db: PGlite) {}

  async take(name: string, holder: string, now: Date, until: Date): Promise<LeaderTerm | undefined> {
    const taken =
      (
        await this.db.query<{ epoch: number }>(
          `UPDATE ecm_bridge.leader_lease SET holder = $2, epoch = epoch + 1, expires_at = $4
           WHERE name = $1 AND expires_at < $3 RETURNING epoch`,
          [name, holder, now, until],
        )
      ).rows[0] ??
      (
        await this.db.query<{ epoch: number }>(
          `INSERT INTO ecm_bridge.leader_lease (name, holder, epoch, expires_at) VALUES ($1, $2, 1, $3)
           ON CONFLICT (name) DO NOTHING RETURNING epoch`,
          [name, holder, until],
        )
      ).rows[0];
    return taken && { name, holder, epoch: taken.epoch };
  }

  renew(term: LeaderTerm, until: Date): Promise<boolean> {
    return renewTerm(this.db, { ...term, until });
  }

  async release(term: LeaderTerm): Promise<void> {
    await renewTerm(this.db, { ...term, until: new Date(0) });
  }
}
