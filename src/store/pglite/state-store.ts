import type { PGlite } from '@electric-sql/pglite';
import { ServiceError } from '../../platform/errors.js';
import {
  CREDENTIAL_EVENT_COLUMNS,
  credentialEventFromRow,
  fencedError,
  credentialEventPatch,
  credentialEventValues,
  LEASE_COLUMNS,
  leaseFromRow,
  leaseKey,
  leaseValues,
  OPEN_EVENT_COLUMNS,
  openEventValues,
  outcomeGuard,
} from '../state-rows.js';
import type { StoreMetrics } from '../store-metrics.js';
import type {
  CheckinClaim,
  CheckinRecord,
  Confirmation,
  CredentialEvent,
  CredentialEventPatch,
  CredentialOutcome,
  InstanceFence,
  Lease,
  TakenLease,
} from '../../broker/lease-store-port.js';
import type { StateStore } from '../store-ports.js';
import { GroupCommit } from './group-commit.js';
import { PglitePreparedWriter, type Statement } from './prepared.js';

type DbRow = Record<string, unknown>;
/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';
const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/**
 * The writer's fence holds (parameters: its instance id, or null for a write without a fence, and
 * its epoch): checked inside the statement that writes, so a replica fenced meanwhile changes nothing.
 */
const fenceHolds = (id: string, epoch: string) =>
  `(${id}::text IS NULL OR EXISTS (SELECT 1 FROM ecm_bridge.instance fi WHERE fi.instance_id = ${id} AND fi.epoch = ${epoch}::int))`;
const fenceParams = (fence: InstanceFence | undefined) => [fence?.instanceId ?? null, fence?.epoch ?? null];

/**
 * The audit row and the lease of a checkout in one statement (the lease's audit_id is the row's
 * new id), both skipped when the lease's credential id is spent.
 */
const OPEN_LEASE_SQL = (() => {
  const n = OPEN_EVENT_COLUMNS.length;
  let k = n;
  const leaseValuesSql = LEASE_COLUMNS.map((c) => (c === 'audit_id' ? 'ev.id' : `$${++k}`));
  const keyParam = leaseValuesSql[LEASE_COLUMNS.indexOf('credential_key')];
  const fence = fenceHolds(`$${k + 1}`, `$${k + 2}`);
  return `WITH ev AS (INSERT INTO ecm_bridge.credential_event (${OPEN_EVENT_COLUMNS.join(', ')})
  SELECT ${placeholders(n)} WHERE NOT EXISTS (SELECT 1 FROM ecm_bridge.spent_credential WHERE credential_key = ${keyParam})
    AND ${fence}
  RETURNING id)
INSERT INTO ecm_bridge.lease (${LEASE_COLUMNS.join(', ')}) SELECT ${leaseValuesSql.join(', ')} FROM ev RETURNING audit_id`;
})();
const AUDIT_SLOT = LEASE_COLUMNS.indexOf('audit_id');

/**
 * Claims the lease for its check-in ($1 lease, $2 console user or null, $3 spend, $4 now, $5 claim
 * end, $6 reason) unless another claim on it runs past $4: the row stays, due for the sweep at $5.
 * Spends its credential id when $3 and it held a vault request, and asks, in the same statement,
 * whether another lease not being checked in holds its vault request. Returns the claimed row.
 * Every part of one statement reads the same snapshot, in which the claimed row is still unclaimed:
 * hence `o.lease_id <> claimed.lease_id`.
 */
const CLAIM_CHECKIN_SQL = `WITH claimed AS (UPDATE ecm_bridge.lease SET checkin_retry_at = $5, checkin_retry_reason = $6,
  checkin_attempts = COALESCE(checkin_attempts, 0)
  WHERE lease_id = $1 AND ($2::text IS NULL OR console_user = $2) AND (checkin_retry_at IS NULL OR checkin_retry_at <= $4)
    AND ${fenceHolds('$7', '$8')}
  RETURNING *),
spent AS (INSERT INTO ecm_bridge.spent_credential (credential_key, expires_at)
  SELECT credential_key, credential_expires_at FROM claimed
  WHERE $3::boolean AND credential_key IS NOT NULL AND credential_expires_at IS NOT NULL AND vault_request_id <> ''
  ON CONFLICT (credential_key) DO NOTHING)
SELECT claimed.*, EXISTS (SELECT 1 FROM ecm_bridge.lease o WHERE o.vault_request_id = claimed.vault_request_id
  AND o.vault_user = claimed.vault_user AND o.lease_id <> claimed.lease_id AND o.checkin_retry_at IS NULL) AS shared
FROM claimed`;

/**
 * Ends a claimed lease ($1) and applies the audit patch ($2...) to its row, in one statement,
 * unless the writer's fence (the two parameters after the patch) no longer holds; a patch setting
 * outcome `to` only to a row in a state it may move from.
 */
function finishCheckinSql(patchColumns: readonly string[], to: CredentialOutcome | undefined): string {
  const ev = patchColumns.length
    ? `, ev AS (UPDATE ecm_bridge.credential_event SET ${patchColumns.map((c, i) => `${c} = $${i + 2}`).join(', ')}
  WHERE id IN (SELECT audit_id FROM gone) AND ${outcomeGuard(to)})`
    : '';
  const n = patchColumns.length;
  return `WITH gone AS (DELETE FROM ecm_bridge.lease WHERE lease_id = $1 AND ${fenceHolds(`$${n + 2}`, `$${n + 3}`)}
  RETURNING audit_id)${ev}
SELECT count(*)::int AS n FROM gone`;
}

/**
 * An intent becomes its vault request's lease ($1 lease, $2 request, $3 expiry, $4 checkout time)
 * unless its credential id is spent; returns the audit row's id when it did. The unique index on
 * (credential_key, vault_request_id, lsid) refuses it (23505) when a lease of the same credential
 * id and session holds that request already: JOIN_LEASE_SQL then. The usual case stays one
 * small statement.
 */
const CONFIRM_LEASE_SQL = `WITH l AS (UPDATE ecm_bridge.lease SET vault_request_id = $2, expires_at = $3 WHERE lease_id = $1
  AND NOT EXISTS (SELECT 1 FROM ecm_bridge.spent_credential s WHERE s.credential_key = lease.credential_key)
  AND ${fenceHolds('$5', '$6')}
  RETURNING audit_id)
UPDATE ecm_bridge.credential_event SET vault_request_id = $2, outcome = 'checked_out', checkout_at = $4
WHERE id = (SELECT audit_id FROM l) AND ${outcomeGuard('checked_out')} RETURNING id`;
/**
 * Why a confirm changed nothing: its writer is fenced, the intent is gone (nothing to do) or its
 * credential id is spent.
 */
const CONFIRM_SPENT_SQL = `SELECT EXISTS (SELECT 1 FROM ecm_bridge.lease l JOIN ecm_bridge.spent_credential s
  ON s.credential_key = l.credential_key WHERE l.lease_id = $1) AS spent, NOT ${fenceHolds('$2', '$3')} AS fenced`;
/** Whether a fence no longer holds (a write carrying it changed nothing: was that why?). */
const FENCED_SQL = `SELECT NOT ${fenceHolds('$1', '$2')} AS fenced`;
/**
 * The intent ($1) joins the lease of the same credential id and session that holds request $2:
 * the intent goes, that lease gains a joined answer, the intent's audit row is closed as joined.
 */
const JOIN_LEASE_SQL = `WITH me AS (SELECT credential_key, lsid FROM ecm_bridge.lease WHERE lease_id = $1
  AND ${fenceHolds('$4', '$5')}),
held AS (SELECT o.lease_id FROM ecm_bridge.lease o JOIN me ON o.credential_key = me.credential_key
  WHERE o.vault_request_id = $2 AND o.lsid IS NOT DISTINCT FROM me.lsid AND o.lease_id <> $1),
joined AS (UPDATE ecm_bridge.lease SET joined_answers = COALESCE(joined_answers, 0) + 1
  WHERE lease_id IN (SELECT lease_id FROM held)),
dropped AS (DELETE FROM ecm_bridge.lease WHERE lease_id = $1 AND EXISTS (SELECT 1 FROM held) RETURNING audit_id),
ev AS (UPDATE ecm_bridge.credential_event SET vault_request_id = $2, outcome = 'checked_out', checkout_at = $3,
  checkin_at = $3, checkin_reason = 'joined' WHERE id IN (SELECT audit_id FROM dropped) AND ${outcomeGuard('checked_out')})
SELECT lease_id AS joined FROM held`;

/**
 * StateStore on PGlite (schema ecm_bridge). Each method is one statement, hence atomic. The
 * statements of concurrent operations are written in groups, one transaction per group
 * (group-commit.ts), each statement prepared once (prepared.ts).
 */
export class PgliteStateStore implements StateStore {
  readonly batches: GroupCommit<Statement, unknown[]>;

  constructor(
    private readonly db: PGlite,
    private readonly metrics: StoreMetrics,
  ) {
    this.batches = new GroupCommit(new PglitePreparedWriter(db));
  }

  async getCursor(key: string): Promise<string | undefined> {
    const rows = await this.#q<{ value: string }>(
      'getCursor',
      'SELECT value FROM ecm_bridge.report_cursor WHERE cursor_key = $1',
      [key],
    );
    return rows[0]?.value;
  }

  async setCursor(key: string, value: string): Promise<void> {
    await this.#q(
      'setCursor',
      `INSERT INTO ecm_bridge.report_cursor (cursor_key, value, updated_at) VALUES ($1, $2, now())
      ON CONFLICT (cursor_key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
      [key, value],
    );
  }

  async putLease(lease: Lease, fence?: InstanceFence): Promise<void> {
    const set = LEASE_COLUMNS.slice(1)
      .map((c) => `${c} = EXCLUDED.${c}`)
      .join(', ');
    const n = LEASE_COLUMNS.length;
    // An upsert that writes nothing when the fence fails: no row back then.
    const rows = await this.#q(
      'putLease',
      `INSERT INTO ecm_bridge.lease (${LEASE_COLUMNS.join(', ')}) SELECT ${placeholders(n)}
      WHERE ${fenceHolds(`$${n + 1}`, `$${n + 2}`)}
      ON CONFLICT (lease_id) DO UPDATE SET ${set} RETURNING 1`,
      [...leaseValues(lease), ...fenceParams(fence)],
    );
    if (rows.length === 0 && fence) throw this.#fenced('putLease', fence);
  }

  async openLease(
    event: CredentialEvent,
    lease: Omit<Lease, 'auditId'>,
    fence?: InstanceFence,
  ): Promise<number | undefined> {
    const leaseParams = leaseValues({ ...lease, auditId: null });
    leaseParams.splice(AUDIT_SLOT, 1);
    const rows = await this.#q<{ audit_id: number }>('openLease', OPEN_LEASE_SQL, [
      ...openEventValues(event, lease.leaseId),
      ...leaseParams,
      ...fenceParams(fence),
    ]);
    if (rows[0]) return Number(rows[0].audit_id);
    if (fence && (await this.#isFenced(fence))) throw this.#fenced('openLease', fence);
    return undefined;
  }

  async confirmLease(
    leaseId: string,
    vaultRequestId: string,
    expiresAt: Date,
    checkoutAt: Date,
    fence?: InstanceFence,
  ): Promise<Confirmation> {
    // Twice at most: a lease held when the confirm failed may be gone by the time the join looks.
    for (let attempt = 0; ; attempt++) {
      try {
        const done = await this.#run(CONFIRM_LEASE_SQL, [
          leaseId,
          vaultRequestId,
          expiresAt,
          checkoutAt,
          ...fenceParams(fence),
        ]);
        if (done.length > 0) return { outcome: 'confirmed' };
        const [why] = await this.#q<{ spent: boolean; fenced: boolean }>('confirmLease', CONFIRM_SPENT_SQL, [
          leaseId,
          ...fenceParams(fence),
        ]);
        if (why?.fenced && fence) throw this.#fenced('confirmLease', fence);
        return why?.spent ? { outcome: 'spent' } : { outcome: 'confirmed' };
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        if ((e as { code?: unknown }).code !== UNIQUE_VIOLATION || attempt > 0) throw this.#failed('confirmLease', e);
      }
      const [joined] = await this.#q<{ joined: string }>('confirmLease', JOIN_LEASE_SQL, [
        leaseId,
        vaultRequestId,
        checkoutAt,
        ...fenceParams(fence),
      ]);
      if (joined) return { outcome: 'joined', leaseId: joined.joined };
    }
  }

  async getLease(leaseId: string): Promise<Lease | undefined> {
    const rows = await this.#q<DbRow>('getLease', 'SELECT * FROM ecm_bridge.lease WHERE lease_id = $1', [leaseId]);
    return rows[0] && leaseFromRow(rows[0]);
  }

  async claimCheckin(leaseId: string, claim: CheckinClaim): Promise<TakenLease | undefined> {
    // PGlite runs one statement at a time: of two claimants only the first finds the row unclaimed.
    const rows = await this.#q<DbRow>('claimCheckin', CLAIM_CHECKIN_SQL, [
      leaseId,
      claim.consoleUser ?? null,
      claim.spend ?? false,
      claim.now,
      claim.until,
      claim.reason,
      ...fenceParams(claim.fence),
    ]);
    if (rows[0]) return { lease: leaseFromRow(rows[0]), shared: rows[0].shared === true };
    if (claim.fence && (await this.#isFenced(claim.fence))) throw this.#fenced('claimCheckin', claim.fence);
    return undefined;
  }

  async finishCheckin(leaseId: string, patch: CredentialEventPatch, fence?: InstanceFence): Promise<boolean> {
    const pairs = credentialEventPatch(patch);
    const rows = await this.#q<{ n: number }>(
      'finishCheckin',
      finishCheckinSql(
        pairs.map(([c]) => c),
        patch.outcome,
      ),
      [leaseId, ...pairs.map(([, v]) => v), ...fenceParams(fence)],
    );
    if (Number(rows[0]?.n ?? 0) > 0) return true;
    if (fence && (await this.#isFenced(fence))) throw this.#fenced('finishCheckin', fence);
    return false;
  }

  async reclaim(before: Date): Promise<number> {
    const rows = await this.#q<{ n: number }>(
      'reclaim',
      'WITH gone AS (DELETE FROM ecm_bridge.spent_credential WHERE expires_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
      [before],
    );
    // PGlite's Postgres runs in single-user mode, without autovacuum: every lease ends deleted,
    // and without this the table and its indexes would only grow (about 110 bytes per get and
    // release). A few milliseconds per sweep while they are small.
    try {
      await this.db.exec('VACUUM ecm_bridge.lease, ecm_bridge.spent_credential');
    } catch (e) {
      throw this.#failed('reclaim', e);
    }
    return Number(rows[0]?.n ?? 0);
  }

  async holdsRequest(vaultUser: string, vaultRequestId: string): Promise<boolean> {
    const rows = await this.#q<{ held: boolean }>(
      'holdsRequest',
      `SELECT EXISTS (SELECT 1 FROM ecm_bridge.lease
      WHERE vault_request_id = $1 AND vault_user = $2 AND checkin_retry_at IS NULL) AS held`,
      [vaultRequestId, vaultUser],
    );
    return rows[0]!.held;
  }

  async sessionLeases(lsid: string, accountId: number): Promise<Lease[]> {
    const rows = await this.#q<DbRow>(
      'sessionLeases',
      'SELECT * FROM ecm_bridge.lease WHERE lsid = $1 AND account_id = $2 ORDER BY created_at, lease_id',
      [lsid, accountId],
    );
    return rows.map(leaseFromRow);
  }

  async listLeases(filter: { owner?: string; expiresBefore?: Date }): Promise<Lease[]> {
    const rows = await this.#q<DbRow>(
      'listLeases',
      `SELECT * FROM ecm_bridge.lease
      WHERE ($1::varchar IS NULL OR owner = $1) AND ($2::timestamptz IS NULL OR expires_at < $2) ORDER BY expires_at, lease_id`,
      [filter.owner ?? null, filter.expiresBefore ?? null],
    );
    return rows.map(leaseFromRow);
  }

  async dueLeases(at: Date): Promise<Lease[]> {
    const rows = await this.#q<DbRow>(
      'dueLeases',
      // Each condition has its index (the planner ORs two bitmap scans).
      `SELECT * FROM ecm_bridge.lease WHERE expires_at < $1 OR checkin_retry_at <= $1 ORDER BY expires_at, lease_id`,
      [at],
    );
    return rows.map(leaseFromRow);
  }

  async touchInstance(instanceId: string, at: Date, epoch = 0): Promise<boolean> {
    // The statement's snapshot is from before the upsert: `existed` tells an update from an insert.
    const rows = await this.#q<{ existed: boolean }>(
      'touchInstance',
      `WITH prior AS (SELECT 1 FROM ecm_bridge.instance WHERE instance_id = $1),
      up AS (INSERT INTO ecm_bridge.instance (instance_id, last_seen_at, epoch) VALUES ($1, $2, $3)
        ON CONFLICT (instance_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, epoch = EXCLUDED.epoch)
      SELECT EXISTS (SELECT 1 FROM prior) AS existed`,
      [instanceId, at, epoch],
    );
    return rows[0]!.existed;
  }

  async renewInstance(fence: InstanceFence, at: Date): Promise<boolean> {
    const rows = await this.#q(
      'renewInstance',
      'UPDATE ecm_bridge.instance SET last_seen_at = $3 WHERE instance_id = $1 AND epoch = $2 RETURNING 1',
      [fence.instanceId, fence.epoch, at],
    );
    return rows.length > 0;
  }

  async staleInstances(before: Date): Promise<string[]> {
    const rows = await this.#q<{ instance_id: string }>(
      'staleInstances',
      `SELECT instance_id FROM ecm_bridge.instance WHERE last_seen_at < $1
      UNION SELECT DISTINCT owner FROM ecm_bridge.lease l WHERE created_at < $1
        AND NOT EXISTS (SELECT 1 FROM ecm_bridge.instance i WHERE i.instance_id = l.owner)
      ORDER BY 1`,
      [before],
    );
    return rows.map((r) => r.instance_id);
  }

  async handOverLeases(from: string, aliveSince: Date): Promise<{ heir: string; leases: number } | undefined> {
    const rows = await this.#q<{ heir: string | null; leases: number }>(
      'handOverLeases',
      `WITH heir AS (SELECT instance_id FROM ecm_bridge.instance WHERE instance_id <> $1 AND last_seen_at >= $2
        ORDER BY last_seen_at DESC, instance_id LIMIT 1),
      moved AS (UPDATE ecm_bridge.lease SET owner = (SELECT instance_id FROM heir)
        WHERE owner = $1 AND EXISTS (SELECT 1 FROM heir) RETURNING 1)
      SELECT (SELECT instance_id FROM heir) AS heir, (SELECT count(*)::int FROM moved) AS leases`,
      [from, aliveSince],
    );
    const r = rows[0];
    return r?.heir ? { heir: r.heir, leases: Number(r.leases) } : undefined;
  }

  async retireInstance(instanceId: string, before: Date): Promise<boolean> {
    const rows = await this.#q<{ retired: boolean }>(
      'retireInstance',
      `WITH gone AS (DELETE FROM ecm_bridge.instance WHERE instance_id = $1 AND last_seen_at < $2 RETURNING 1)
      SELECT (EXISTS (SELECT 1 FROM gone) OR NOT EXISTS (SELECT 1 FROM ecm_bridge.instance WHERE instance_id = $1)) AS retired`,
      [instanceId, before],
    );
    return rows[0]!.retired;
  }

  async leaseEvent(leaseId: string): Promise<(CredentialEvent & CheckinRecord & { id: number }) | undefined> {
    const rows = await this.#q<DbRow>(
      'leaseEvent',
      'SELECT * FROM ecm_bridge.credential_event WHERE lease_key = $1 ORDER BY id DESC LIMIT 1',
      [leaseKey(leaseId)],
    );
    return rows[0] && credentialEventFromRow(rows[0]);
  }

  async recordCredentialEvent(event: CredentialEvent): Promise<number> {
    const rows = await this.#q<{ id: number }>(
      'recordCredentialEvent',
      `INSERT INTO ecm_bridge.credential_event (${CREDENTIAL_EVENT_COLUMNS.join(', ')}) VALUES (${placeholders(CREDENTIAL_EVENT_COLUMNS.length)}) RETURNING id`,
      credentialEventValues(event),
    );
    return Number(rows[0]!.id);
  }

  async updateCredentialEvent(id: number, patch: CredentialEventPatch): Promise<boolean> {
    const pairs = credentialEventPatch(patch);
    if (pairs.length === 0) return false;
    const rows = await this.#q(
      'updateCredentialEvent',
      `UPDATE ecm_bridge.credential_event SET ${pairs.map(([c], i) => `${c} = $${i + 2}`).join(', ')}
      WHERE id = $1 AND ${outcomeGuard(patch.outcome)} RETURNING id`,
      [id, ...pairs.map(([, v]) => v)],
    );
    return rows.length > 0;
  }

  async listCredentialEvents(filter: {
    lsid?: string;
    limit?: number;
  }): Promise<(CredentialEvent & CheckinRecord & { id: number })[]> {
    const rows = await this.#q<DbRow>(
      'listCredentialEvents',
      `SELECT * FROM (SELECT * FROM ecm_bridge.credential_event
      WHERE ($1::varchar IS NULL OR lsid = $1) ORDER BY id DESC LIMIT $2) newest ORDER BY id`,
      [filter.lsid ?? null, filter.limit ?? 1000],
    );
    return rows.map(credentialEventFromRow);
  }

  async #q<T>(op: string, sql: string, params: unknown[]): Promise<T[]> {
    try {
      return await this.#run<T>(sql, params);
    } catch (e) {
      throw this.#failed(op, e);
    }
  }

  async #run<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.batches.submit({ sql, params })) as T[];
  }

  async #isFenced(fence: InstanceFence): Promise<boolean> {
    const rows = await this.#q<{ fenced: boolean }>('fence', FENCED_SQL, fenceParams(fence));
    return rows[0]!.fenced;
  }

  #fenced(op: string, fence: InstanceFence): ServiceError {
    this.metrics.failed(op, 'store.fenced');
    return fencedError(op, fence);
  }

  #failed(op: string, e: unknown): ServiceError {
    this.metrics.failed(op, 'store.write_failed');
    return new ServiceError('store.write_failed', `store ${op} failed: ${(e as Error).message}`, {
      op: `store.${op}`,
      cause: e,
    });
  }
}
