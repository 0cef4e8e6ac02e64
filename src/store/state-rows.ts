import { createHash } from 'node:crypto';
import { ServiceError } from '../platform/errors.js';
import {
  AUDIT_TRANSITIONS,
  type CheckinRecord,
  type Confirmation,
  type CredentialEvent,
  type CredentialOutcome,
  type InstanceFence,
  type Lease,
} from '../broker/lease-store-port.js';

/**
 * Row <-> object mapping for the ecm_bridge tables, shared by the adapters. Integers arrive as
 * number (PGlite) or string (tedious bigint); times as Date in both.
 */
type DbRow = Record<string, unknown>;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const LEASE_COLUMNS = [
  'lease_id',
  'vault_request_id',
  'owner',
  'site',
  'console_user',
  'vault_user',
  'system_id',
  'system_name',
  'account_id',
  'account_name',
  'lsid',
  'audit_id',
  'created_at',
  'expires_at',
  'checkin_attempts',
  'checkin_retry_at',
  'checkin_retry_reason',
  'credential_key',
  'credential_expires_at',
  'joined_answers',
] as const;

export function leaseValues(l: Lease): unknown[] {
  return [
    l.leaseId,
    // An intent (no vault request yet) is stored as '' rather than NULL: the column stays NOT NULL
    // on both dialects (SQL Server cannot relax it while indexed; Babelfish not at all).
    l.vaultRequestId ?? '',
    l.owner,
    l.site,
    l.consoleUser,
    l.vaultUser,
    l.systemId,
    l.systemName,
    l.accountId,
    l.accountName,
    l.lsid,
    l.auditId,
    l.createdAt,
    l.expiresAt,
    l.checkinRetry?.attempts ?? null,
    l.checkinRetry?.at ?? null,
    l.checkinRetry?.reason ?? null,
    l.credential?.key ?? null,
    l.credential?.expiresAt ?? null,
    l.joinedAnswers ?? null,
  ];
}

export function leaseFromRow(r: DbRow): Lease {
  return {
    leaseId: String(r.lease_id),
    vaultRequestId: str(r.vault_request_id) || null,
    owner: String(r.owner),
    site: String(r.site),
    consoleUser: String(r.console_user),
    vaultUser: String(r.vault_user),
    systemId: Number(r.system_id),
    systemName: String(r.system_name),
    accountId: Number(r.account_id),
    accountName: String(r.account_name),
    lsid: str(r.lsid),
    auditId: num(r.audit_id),
    createdAt: r.created_at as Date,
    expiresAt: r.expires_at as Date,
    ...(r.checkin_retry_at instanceof Date && {
      checkinRetry: {
        attempts: Number(r.checkin_attempts),
        at: r.checkin_retry_at,
        reason: String(r.checkin_retry_reason),
      },
    }),
    ...(r.credential_key !== null &&
      r.credential_key !== undefined && {
        credential: { key: String(r.credential_key), expiresAt: r.credential_expires_at as Date },
      }),
    ...(Number(r.joined_answers) > 0 && { joinedAnswers: Number(r.joined_answers) }),
  };
}

/** What a confirm statement's one row (spent, joined lease id) says happened. */
export function confirmation(r: { spent: unknown; joined: unknown } | undefined): Confirmation {
  if (r && (r.spent === true || r.spent === 1)) return { outcome: 'spent' };
  if (r && r.joined !== null && r.joined !== undefined) return { outcome: 'joined', leaseId: String(r.joined) };
  return { outcome: 'confirmed' };
}

export const CREDENTIAL_EVENT_COLUMNS = [
  'site',
  'lsid',
  'jump_item_id',
  'jump_item_name',
  'console_user',
  'vault_user',
  'vault_request_id',
  'system_name',
  'account_name',
  'outcome',
  'error_code',
  'checkout_at',
  'checkin_at',
] as const;

export function credentialEventValues(e: CredentialEvent): unknown[] {
  return [
    e.site,
    e.lsid,
    e.jumpItemId,
    e.jumpItemName,
    e.consoleUser,
    e.vaultUser,
    e.vaultRequestId,
    e.systemName,
    e.accountName,
    e.outcome,
    e.errorCode,
    e.checkoutAt,
    e.checkinAt,
  ];
}

/**
 * A checkout's audit row as openLease writes it: the event's columns and its lease's key, so a
 * release of the lease once it is gone can still find what ended it (LeaseStore.leaseEvent).
 */
export const OPEN_EVENT_COLUMNS = [...CREDENTIAL_EVENT_COLUMNS, 'lease_key'] as const;

export function openEventValues(e: CredentialEvent, leaseId: string): unknown[] {
  return [...credentialEventValues(e), leaseKey(leaseId)];
}

/**
 * What the audit row keeps of a lease id: its SHA-256 (hex), never the id itself (a handle that
 * releases a credential). Lease ids are random UUIDs, so the digest cannot be turned back.
 */
export function leaseKey(leaseId: string): string {
  return createHash('sha256').update(leaseId, 'utf8').digest('hex');
}

export function credentialEventFromRow(r: DbRow): CredentialEvent & CheckinRecord & { id: number } {
  return {
    id: Number(r.id),
    site: String(r.site),
    lsid: str(r.lsid),
    jumpItemId: num(r.jump_item_id),
    jumpItemName: str(r.jump_item_name),
    consoleUser: String(r.console_user),
    vaultUser: str(r.vault_user),
    vaultRequestId: str(r.vault_request_id),
    systemName: str(r.system_name),
    accountName: str(r.account_name),
    outcome: String(r.outcome) as CredentialOutcome,
    errorCode: str(r.error_code),
    checkoutAt: (r.checkout_at as Date | null) ?? null,
    checkinAt: (r.checkin_at as Date | null) ?? null,
    checkinBy: str(r.checkin_by),
    checkinReason: str(r.checkin_reason),
  };
}

/**
 * The condition an UPDATE of credential_event that sets outcome `to` carries (both dialects), from
 * the one transition table: `outcome IN ('requested', ...)` (the states are constants, never
 * input); no outcome change, no condition. A refused transition then matches no row.
 */
export function outcomeGuard(to: CredentialOutcome | undefined, alias = ''): string {
  if (to === undefined) return '1 = 1';
  const from = AUDIT_TRANSITIONS[to];
  return from.length === 0 ? '1 = 0' : `${alias}outcome IN (${from.map((s) => `'${s}'`).join(', ')})`;
}

/** The patchable credential_event fields and their columns: the only names an UPDATE may set. */
export const CREDENTIAL_EVENT_PATCH_COLUMNS = {
  outcome: 'outcome',
  checkinAt: 'checkin_at',
  errorCode: 'error_code',
  vaultRequestId: 'vault_request_id',
  checkinBy: 'checkin_by',
  checkinReason: 'checkin_reason',
} as const;

/** The patch's defined fields as [column, value] pairs, in a fixed order. */
export function credentialEventPatch(
  patch: Partial<Record<keyof typeof CREDENTIAL_EVENT_PATCH_COLUMNS, unknown>>,
): [string, unknown][] {
  return (Object.keys(CREDENTIAL_EVENT_PATCH_COLUMNS) as (keyof typeof CREDENTIAL_EVENT_PATCH_COLUMNS)[])
    .filter((k) => patch[k] !== undefined)
    .map((k) => [CREDENTIAL_EVENT_PATCH_COLUMNS[k], patch[k]]);
}

/** A lease write refused because its writer's instance row is gone or holds another epoch. */
export function fencedError(op: string, fence: InstanceFence): ServiceError {
  return new ServiceError(
    'store.fenced',
    `store ${op} refused: instance ${fence.instanceId} (epoch ${fence.epoch}) was fenced by another replica`,
    { op: `store.${op}`, details: { instanceId: fence.instanceId, epoch: fence.epoch } },
  );
}
