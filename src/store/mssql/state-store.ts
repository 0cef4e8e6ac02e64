import sql from 'mssql';
import type { ServiceError } from '../../platform/errors.js';
import { bindAll } from './params.js';
import { withRetry, type StoreRetries } from './retry.js';
import {
  GET_CURSOR_SQL,
  CLAIM_CHECKIN_SQL,
  CONFIRM_LEASE_SQL,
  DUE_LEASES_SQL,
  FENCED_SQL,
  finishCheckinSql,
  FORGET_SPENT_SQL,
  GET_LEASE_SQL,
  HAND_OVER_LEASES_SQL,
  HOLDS_REQUEST_SQL,
  insertCredentialEventSql,
  LEASE_EVENT_SQL,
  LIST_CREDENTIAL_EVENTS_SQL,
  LIST_LEASES_SQL,
  openLeaseSql,
  SESSION_LEASES_SQL,
  RENEW_INSTANCE_SQL,
  RETIRE_INSTANCE_SQL,
  STALE_INSTANCES_SQL,
  updateCredentialEventSql,
  UPSERT_CURSOR_SQL,
  TOUCH_INSTANCE_SQL,
  UPSERT_LEASE_SQL,
} from './sql.js';
import {
  confirmation,
  CREDENTIAL_EVENT_COLUMNS,
  credentialEventFromRow,
  credentialEventPatch,
  credentialEventValues,
  fencedError,
  LEASE_COLUMNS,
  leaseFromRow,
  leaseKey,
  leaseValues,
  OPEN_EVENT_COLUMNS,
  openEventValues,
} from '../state-rows.js';
import type { StoreMetrics } from '../store-metrics.js';
import type {
  CheckinClaim,
  CheckinRecord,
  Confirmation,
  CredentialEvent,
  CredentialEventPatch,
  InstanceFence,
  Lease,
  TakenLease,
} from '../../broker/lease-store-port.js';
import type { StateStore } from '../store-ports.js';

type DbRow = Record<string, unknown>;
const named = (columns: readonly string[], values: unknown[], prefix = '') =>
  Object.fromEntries(columns.map((c, i) => [prefix + c, values[i]]));
const LEASE_COLUMNS_BUT_AUDIT = LEASE_COLUMNS.filter((c) => c !== 'audit_id');
const OPEN_LEASE_SQL = openLeaseSql(OPEN_EVENT_COLUMNS, LEASE_COLUMNS);
/** The fence parameters of a write (@fence_id NULL: a write without a fence). */
const fenceValues = (fence: InstanceFence | undefined) => ({
  fence_id: fence?.instanceId ?? null,
  fence_epoch: fence?.epoch ?? null,
});
const isSet = (v: unknown) => v === true || v === 1;

/**
 * StateStore on SQL Server (schema ecm_bridge), shared by replicas. Single statements are atomic
 * on their own; upserts (UPDATE under UPDLOCK+HOLDLOCK, INSERT when no row) run in a transaction.
 */
export class MssqlStateStore implements StateStore {
  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly metrics: StoreMetrics,
    private readonly retry: StoreRetries,
  ) {}

  async getCursor(key: string): Promise<string | undefined> {
    const rows = await this.#query<{ value: string }>('getCursor', GET_CURSOR_SQL, { key });
    return rows[0]?.value;
  }

  async setCursor(key: string, value: string): Promise<void> {
    await this.#query('setCursor', UPSERT_CURSOR_SQL, { cursor_key: key, value }, true);
  }

  async putLease(lease: Lease, fence?: InstanceFence): Promise<void> {
    const rows = await this.#query<{ fenced: boolean | number }>(
      'putLease',
      UPSERT_LEASE_SQL,
      { ...named(LEASE_COLUMNS, leaseValues(lease)), ...fenceValues(fence) },
      true,
    );
    if (fence && isSet(rows[0]?.fenced)) throw this.#fenced('putLease', fence);
  }

  async openLease(
    event: CredentialEvent,
    lease: Omit<Lease, 'auditId'>,
    fence?: InstanceFence,
  ): Promise<number | undefined> {
    const leaseRow = named(LEASE_COLUMNS, leaseValues({ ...lease, auditId: null }));
    // Not idempotent (a new identity value): a blind retry could write the audit row twice.
    const rows = await this.#query<{ audit_id: string | number | null }>(
      'openLease',
      OPEN_LEASE_SQL,
      {
        ...named(OPEN_EVENT_COLUMNS, openEventValues(event, lease.leaseId), 'e_'),
        ...Object.fromEntries(LEASE_COLUMNS_BUT_AUDIT.map((c) => [`l_${c}`, leaseRow[c]])),
        ...fenceValues(fence),
      },
      false,
      false,
    );
    const auditId = rows[0]?.audit_id;
    if (auditId !== null && auditId !== undefined) return Number(auditId);
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
    // Idempotent, so a duplicate key (another replica confirmed the same credential id and
    // request first) is retried, and the retry joins that lease.
    const rows = await this.#query<{ spent: boolean | number; joined: string | null; fenced: boolean | number }>(
      'confirmLease',
      CONFIRM_LEASE_SQL,
      {
        lease_id: leaseId,
        vault_request_id: vaultRequestId,
        expires_at: expiresAt,
        checkout_at: checkoutAt,
        ...fenceValues(fence),
      },
    );
    if (fence && isSet(rows[0]?.fenced)) throw this.#fenced('confirmLease', fence);
    return confirmation(rows[0]);
  }

  async getLease(leaseId: string): Promise<Lease | undefined> {
    const rows = await this.#query<DbRow>('getLease', GET_LEASE_SQL, { lease_id: leaseId });
    return rows[0] && leaseFromRow(rows[0]);
  }

  async claimCheckin(leaseId: string, claim: CheckinClaim): Promise<TakenLease | undefined> {
    // Not idempotent (UPDATE ... OUTPUT of the row as it was): after a lost connection the claim may
    // already be ours, and a repeat would find it claimed.
    const rows = await this.#query<DbRow>(
      'claimCheckin',
      CLAIM_CHECKIN_SQL,
      {
        lease_id: leaseId,
        console_user: claim.consoleUser ?? null,
        spend: claim.spend ?? false,
        now: claim.now,
        until: claim.until,
        reason: claim.reason,
        ...fenceValues(claim.fence),
      },
      false,
      false,
    );
    if (rows[0]) return { lease: leaseFromRow(rows[0]), shared: isSet(rows[0].shared) };
    if (claim.fence && (await this.#isFenced(claim.fence))) throw this.#fenced('claimCheckin', claim.fence);
    return undefined;
  }

  async finishCheckin(leaseId: string, patch: CredentialEventPatch, fence?: InstanceFence): Promise<boolean> {
    const pairs = credentialEventPatch(patch);
    // Not idempotent: a repeat after a lost connection would find the lease gone and say so.
    const rows = await this.#query<{ n: number; fenced: boolean | number }>(
      'finishCheckin',
      finishCheckinSql(
        pairs.map(([c]) => c),
        patch.outcome,
      ),
      { lease_id: leaseId, ...Object.fromEntries(pairs), ...fenceValues(fence) },
      false,
      false,
    );
    if (fence && isSet(rows[0]?.fenced)) throw this.#fenced('finishCheckin', fence);
    return Number(rows[0]?.n ?? 0) > 0;
  }

  /** SQL Server cleans up deleted rows itself (ghost clean-up): only the spent ids go. */
  async reclaim(before: Date): Promise<number> {
    return (await this.#query('reclaim', FORGET_SPENT_SQL, { before })).length;
  }

  async holdsRequest(vaultUser: string, vaultRequestId: string): Promise<boolean> {
    const rows = await this.#query<{ held: number }>('holdsRequest', HOLDS_REQUEST_SQL, {
      vault_request_id: vaultRequestId,
      vault_user: vaultUser,
    });
    return rows[0]!.held === 1;
  }

  async sessionLeases(lsid: string, accountId: number): Promise<Lease[]> {
    return (await this.#query<DbRow>('sessionLeases', SESSION_LEASES_SQL, { lsid, account_id: accountId })).map(
      leaseFromRow,
    );
  }

  async listLeases(filter: { owner?: string; expiresBefore?: Date }): Promise<Lease[]> {
    const rows = await this.#run('listLeases', true, () =>
      this.pool
        .request()
        .input('owner', sql.NVarChar(128), filter.owner ?? null)
        .input('before', sql.DateTime2(3), filter.expiresBefore ?? null)
        .query<DbRow>(LIST_LEASES_SQL),
    );
    return rows.map(leaseFromRow);
  }

  async dueLeases(at: Date): Promise<Lease[]> {
    return (await this.#query<DbRow>('dueLeases', DUE_LEASES_SQL, { at })).map(leaseFromRow);
  }

  async touchInstance(instanceId: string, at: Date, epoch = 0): Promise<boolean> {
    const rows = await this.#query<{ existed: number }>(
      'touchInstance',
      TOUCH_INSTANCE_SQL,
      { instance_id: instanceId, last_seen_at: at, epoch },
      true,
    );
    return Number(rows[0]?.existed ?? 0) > 0;
  }

  async renewInstance(fence: InstanceFence, at: Date): Promise<boolean> {
    const rows = await this.#query<{ renewed: number }>('renewInstance', RENEW_INSTANCE_SQL, {
      instance_id: fence.instanceId,
      epoch: fence.epoch,
      last_seen_at: at,
    });
    return Number(rows[0]?.renewed ?? 0) > 0;
  }

  async staleInstances(before: Date): Promise<string[]> {
    return (await this.#query<{ instance_id: string }>('staleInstances', STALE_INSTANCES_SQL, { before })).map(
      (r) => r.instance_id,
    );
  }

  async handOverLeases(from: string, aliveSince: Date): Promise<{ heir: string; leases: number } | undefined> {
    const rows = await this.#query<{ heir: string | null; leases: number }>('handOverLeases', HAND_OVER_LEASES_SQL, {
      from,
      since: aliveSince,
    });
    const r = rows[0];
    return r?.heir ? { heir: r.heir, leases: Number(r.leases) } : undefined;
  }

  async retireInstance(instanceId: string, before: Date): Promise<boolean> {
    const rows = await this.#query<{ retired: number }>('retireInstance', RETIRE_INSTANCE_SQL, {
      instance_id: instanceId,
      before,
    });
    return Number(rows[0]?.retired ?? 0) === 1;
  }

  async leaseEvent(leaseId: string): Promise<(CredentialEvent & CheckinRecord & { id: number }) | undefined> {
    const rows = await this.#query<DbRow>('leaseEvent', LEASE_EVENT_SQL, { lease_key: leaseKey(leaseId) });
    return rows[0] && credentialEventFromRow(rows[0]);
  }

  async recordCredentialEvent(event: CredentialEvent): Promise<number> {
    const values = named(CREDENTIAL_EVENT_COLUMNS, credentialEventValues(event));
    // Not idempotent (INSERT ... OUTPUT): a blind retry could write the audit row twice.
    const rows = await this.#query<{ id: string | number }>(
      'recordCredentialEvent',
      insertCredentialEventSql(CREDENTIAL_EVENT_COLUMNS),
      values,
      false,
      false,
    );
    return Number(rows[0]!.id);
  }

  async updateCredentialEvent(id: number, patch: CredentialEventPatch): Promise<boolean> {
    const pairs = credentialEventPatch(patch);
    if (pairs.length === 0) return false;
    const rows = await this.#query(
      'updateCredentialEvent',
      updateCredentialEventSql(
        pairs.map(([c]) => c),
        patch.outcome,
      ),
      { id, ...Object.fromEntries(pairs) },
    );
    return rows.length > 0;
  }

  async listCredentialEvents(filter: {
    lsid?: string;
    limit?: number;
  }): Promise<(CredentialEvent & CheckinRecord & { id: number })[]> {
    const rows = await this.#run('listCredentialEvents', true, () =>
      this.pool
        .request()
        .input('lsid', sql.NVarChar(64), filter.lsid ?? null)
        .input('limit', sql.Int, filter.limit ?? 1000)
        .query<DbRow>(LIST_CREDENTIAL_EVENTS_SQL),
    );
    return rows.map(credentialEventFromRow);
  }

  async #isFenced(fence: InstanceFence): Promise<boolean> {
    const rows = await this.#query<{ fenced: number }>('fence', FENCED_SQL, fenceValues(fence));
    return Number(rows[0]?.fenced ?? 0) === 1;
  }

  #fenced(op: string, fence: InstanceFence): ServiceError {
    this.metrics.failed(op, 'store.fenced');
    return fencedError(op, fence);
  }

  /**
   * One parameterised statement; in a transaction when `transactional` (read-then-insert
   * upserts). `idempotent: false` retries only failures the server rolled back.
   */
  async #query<T>(
    op: string,
    text: string,
    values: Record<string, unknown>,
    transactional = false,
    idempotent = true,
  ): Promise<T[]> {
    return this.#run(op, idempotent, async () => {
      if (!transactional) return bindAll(this.pool.request(), values).query<T>(text);
      const tx = new sql.Transaction(this.pool);
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      try {
        const res = await bindAll(new sql.Request(tx), values).query<T>(text);
        await tx.commit();
        return res;
      } catch (e) {
        await tx.rollback().catch(() => undefined);
        throw e;
      }
    });
  }

  async #run<T>(op: string, idempotent: boolean, work: () => Promise<sql.IResult<T>>): Promise<T[]> {
    try {
      return (await withRetry(`store.${op}`, this.retry, 'store.write_failed', work, idempotent)).recordset ?? [];
    } catch (e) {
      this.metrics.failed(op, (e as { code?: string }).code ?? 'internal');
      throw e;
    }
  }
}
