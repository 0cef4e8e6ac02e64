import type { PGlite } from '@electric-sql/pglite';
import { isServiceError, ServiceError } from '../../platform/errors.js';
import type { CommitFence, FailbackState, FailbackStore } from '../../reporting/report-store-port.js';
import { leaderLost } from '../leader-lost.js';
import { renewTerm } from './leader-leases.js';
import { failbackFromRow, failbackRow } from '../failback-rows.js';

const UPSERT_SQL = `INSERT INTO ecm_bridge.failback_state (site, primary_node, reread_from, sync_after, updated_at)
  VALUES ($1, $2, $3, $4, now())
  ON CONFLICT (site) DO UPDATE SET primary_node = EXCLUDED.primary_node, reread_from = EXCLUDED.reread_from,
    sync_after = EXCLUDED.sync_after, updated_at = EXCLUDED.updated_at`;

/** FailbackStore on PGlite (sql/postgres/012): one row per site; a fenced put renews its term first, in the same transaction. */
export class PgliteFailbackStore implements FailbackStore {
  constructor(private readonly db: PGlite) {}

  async get(site: string): Promise<FailbackState | undefined> {
    try {
      const r = await this.db.query<Record<string, unknown>>(
        'SELECT primary_node, reread_from, sync_after FROM ecm_bridge.failback_state WHERE site = $1',
        [site],
      );
      return r.rows[0] && failbackFromRow(r.rows[0]);
    } catch (e) {
      throw new ServiceError(
        'store.unavailable',
        `reading the failback state of site ${site} failed: ${(e as Error).message}`,
        {
          op: 'store.failback',
          cause: e,
        },
      );
    }
  }

  async put(site: string, state: FailbackState, fence?: CommitFence): Promise<void> {
    const row = failbackRow(state);
    try {
      await this.db.transaction(async (tx) => {
        if (fence && !(await renewTerm(tx, fence))) throw leaderLost(fence);
        await tx.query(UPSERT_SQL, [site, row.primary_node, row.reread_from, row.sync_after]);
      });
    } catch (e) {
      if (isServiceError(e)) throw e;
      throw new ServiceError(
        'store.write_failed',
        `writing the failback state of site ${site} failed: ${(e as Error).message}`,
        {
          op: 'store.failback',
          cause: e,
        },
      );
    }
  }
}
