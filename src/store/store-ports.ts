import type { SessionRecord } from '../reporting/session-record.js';

/**
 * Writes parsed sessions into the BGSessions tables.
 * Contract: `writeSessions` is idempotent on (hostName, lsid): a session written again replaces
 * its row's columns and all its child rows, in one transaction with the rest of the batch, so a
 * reader never sees half a session or half a batch. When `cursor` is given it is stored in the
 * same transaction: the cursor moves only if the batch committed.
 */
export interface ReportStore {
  writeSessions(sessions: readonly SessionRecord[], cursor?: CursorUpdate): Promise<WriteResult>;
  /** Reads one session back with its children (tests, `report` tooling). */
  readSession(hostName: string, lsid: string): Promise<SessionRecord | undefined>;
  /** Row counts per BGSessions table. */
  tableCounts(): Promise<Record<string, number>>;
}

export interface WriteResult {
  inserted: number;
  updated: number;
}

export interface CursorUpdate {
  key: string;
  value: string;
}

/** A checkout the bridge must check in later. Never holds the secret. */
export interface Lease {
  leaseId: string;
  vaultRequestId: string;
  /** The bridge process that made it (for orphan recovery after a crash). */
  owner: string;
  site: string;
  consoleUser: string;
  vaultUser: string;
  systemId: number;
  systemName: string;
  accountId: number;
  accountName: string;
  lsid: string | null;
  /** The credential_event row this lease belongs to. */
  auditId: number | null;
  createdAt: Date;
  expiresAt: Date;
}

export type CredentialOutcome = 'checked_out' | 'checked_in' | 'denied' | 'failed' | 'expired';

/** One row of ecm_bridge.credential_event: correlates a checkout with its PRA session. */
export interface CredentialEvent {
  site: string;
  lsid: string | null;
  jumpItemId: number | null;
  jumpItemName: string | null;
  consoleUser: string;
  vaultUser: string | null;
  vaultRequestId: string | null;
  systemName: string | null;
  accountName: string | null;
  outcome: CredentialOutcome;
  /** ServiceError code when the outcome is denied/failed. */
  errorCode: string | null;
  checkoutAt: Date | null;
  checkinAt: Date | null;
}

/** Who checked a lease in (a bridge instance id) and why (release, expiry, shutdown, recovery). */
export interface CheckinRecord {
  checkinBy: string | null;
  checkinReason: string | null;
}

/** The fields of a credential event that change after it is recorded. */
export type CredentialEventPatch = Partial<
  Pick<CredentialEvent, 'outcome' | 'checkinAt' | 'errorCode' | 'vaultRequestId'> & CheckinRecord
>;

/**
 * The bridge's own state (schema `ecm_bridge`): report cursors, leases, credential audit, and
 * liveness of bridge instances (so a starting replica can tell a crashed owner's leases from a
 * live replica's).
 */
export interface StateStore {
  getCursor(key: string): Promise<string | undefined>;
  setCursor(key: string, value: string): Promise<void>;

  putLease(lease: Lease): Promise<void>;
  getLease(leaseId: string): Promise<Lease | undefined>;
  /** Removes and returns the lease; undefined when already gone. Atomic: two callers never both get it. */
  takeLease(leaseId: string): Promise<Lease | undefined>;
  listLeases(filter: { owner?: string; expiresBefore?: Date }): Promise<Lease[]>;

  /** Records that `instanceId` is alive at `at`. */
  touchInstance(instanceId: string, at: Date): Promise<void>;
  /** Instances whose last touch is older than `before`. */
  staleInstances(before: Date): Promise<string[]>;

  recordCredentialEvent(event: CredentialEvent): Promise<number>;
  updateCredentialEvent(id: number, patch: CredentialEventPatch): Promise<void>;
  listCredentialEvents(filter: {
    lsid?: string;
    limit?: number;
  }): Promise<(CredentialEvent & CheckinRecord & { id: number })[]>;
}

/** A database-held mutual exclusion for jobs shared by replicas (reporting worker, migrations). */
export interface LeaderLock {
  /** Returns a handle when acquired, undefined when another holder has it. Never waits. */
  tryAcquire(name: string): Promise<LockHandle | undefined>;
}

export interface LockHandle {
  release(): Promise<void>;
}

/** One database: both stores, the lock, migrations. Built by the composition root from config. */
export interface Store {
  readonly reports: ReportStore;
  readonly state: StateStore;
  readonly lock: LeaderLock;
  /** Applies pending migrations; safe to run from several processes at once. Returns the version. */
  migrate(): Promise<number>;
  schemaVersion(): Promise<number>;
  health(): Promise<{ ok: boolean; reason?: string }>;
  close(): Promise<void>;
}
