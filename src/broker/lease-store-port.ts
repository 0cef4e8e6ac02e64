import type { CredentialOutcome } from './audit-states.js';

// The audit row's state machine, part of this port's contract (every store applies it).
export { AUDIT_TRANSITIONS, mayMove, type CredentialOutcome } from './audit-states.js';

/**
 * The fencing token a replica's lease writes carry: its instance id and the epoch its own
 * instance row holds. A replica another presumed dead has its row retired (deleted) before its
 * leases are taken; a write carrying a fence whose row is gone, or holds another epoch, is
 * refused with `store.fenced` in the same statement and changes nothing.
 */
export interface InstanceFence {
  instanceId: string;
  epoch: number;
}

/** A checkout the bridge must check in later. Never holds the secret. */
export interface Lease {
  leaseId: string;
  /**
   * Null while the checkout is only an intent (`requested`: recorded before the vault was asked,
   * so a crash or a lost answer leaves something the sweep finds and checks in).
   */
  vaultRequestId: string | null;
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
  /** Present once a check-in of this lease failed: when the sweep tries again, and why it was checked in. */
  checkinRetry?: CheckinRetry;
  /** The credential id it was checked out with (absent on leases recorded before migration 8). */
  credential?: SpendableCredential;
  /**
   * How many other console answers carry this lease: gets that joined it (a repeated request id,
   * or concurrent gets with one credential id) instead of adding a lease on the same vault request.
   */
  joinedAnswers?: number;
}

/** A credential id as the store knows it: a digest (never the id itself) and when the id expires. */
export interface SpendableCredential {
  key: string;
  expiresAt: Date;
}

/** What confirming an intent did. */
export type Confirmation =
  /** The intent is now the lease of its vault request. */
  | { outcome: 'confirmed' }
  /**
   * A lease of the same credential id and session already held this vault request: the intent is
   * gone, its audit row closed as `joined`, and the answer carries that lease (whose joinedAnswers grew).
   */
  | { outcome: 'joined'; leaseId: string }
  /** The credential id was spent meanwhile (its checkout released, maybe on another replica): nothing changed. */
  | { outcome: 'spent' };

/** A failed check-in waiting for the sweep (backoff grows with the attempts). */
export interface CheckinRetry {
  /** Failed attempts so far (1 after the first failure). */
  attempts: number;
  /** The sweep retries the check-in at or after this time. */
  at: Date;
  /** Why the lease was being checked in (release, shutdown, recovery, expiry). */
  reason: string;
}

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

/** A lease just claimed for its check-in, and whether another lease still holds its vault request. */
export interface TakenLease {
  lease: Lease;
  /**
   * Another lease of the same vault user, not itself being checked in, names the same vault
   * request (ConflictOption "reuse" lets two sessions share one): the request must stay checked
   * out for it.
   */
  shared: boolean;
}

/**
 * A check-in owed, recorded before the vault is asked: the lease stays, due again for the sweep
 * of any replica at `until`, unless the claimant finishes first.
 */
export interface CheckinClaim {
  /** The claimant's now: a lease claimed by someone else until after it is not taken. */
  now: Date;
  /** When the claim lapses and the check-in is due for any replica's sweep. */
  until: Date;
  /** Why it is checked in (release, shutdown, recovery, expiry, abandoned), kept for the retries. */
  reason: string;
  /** Only a lease recorded for exactly this console user name. */
  consoleUser?: string;
  /** The claimant's fence: a fenced claimant's claim is refused (`store.fenced`). */
  fence?: InstanceFence;
  /** A lease that holds a vault request also spends its credential id, in the same statement. */
  spend?: boolean;
}

/**
 * The broker's own state: leases, credential audit, and liveness of bridge instances (so a
 * starting replica can tell a crashed owner's leases from a live replica's).
 */
export interface LeaseStore {
  /**
   * Writes the lease (an upsert). With `fence`, only while the writer's instance row holds that
   * epoch (else `store.fenced`, nothing written): a fenced replica never re-creates a lease the
   * recovery of its leases removed.
   */
  putLease(lease: Lease, fence?: InstanceFence): Promise<void>;
  /**
   * Records a checkout: its audit row and its lease (whose auditId becomes the row's id) in one
   * statement or transaction, so the lease that lets a crash be recovered is never half written.
   * Returns the audit row's id, or undefined (and writes nothing) when the lease's credential id
   * is spent. With `fence`, `store.fenced` (nothing written) once the writer is fenced.
   */
  openLease(event: CredentialEvent, lease: Omit<Lease, 'auditId'>, fence?: InstanceFence): Promise<number | undefined>;
  /**
   * Turns an intent into a checkout: the lease gets its vault request id and expiry, its audit
   * row the request id, `checked_out` and the checkout time, in one statement. Atomic across
   * replicas: of the intents of one credential id and session (lsid) that got the same vault
   * request, one becomes its lease and the others join it; none is confirmed once the credential
   * id is spent. Two sessions sharing a request keep a lease each (the last release checks it in).
   * With `fence`, `store.fenced` (nothing changed) once the writer is fenced: the recovery that
   * fenced it may have checked the request in, or dropped the intent, already.
   */
  confirmLease(
    leaseId: string,
    vaultRequestId: string,
    expiresAt: Date,
    checkoutAt: Date,
    fence?: InstanceFence,
  ): Promise<Confirmation>;
  getLease(leaseId: string): Promise<Lease | undefined>;
  /**
   * Claims the lease for its check-in and returns it (claimed), with whether another lease still
   * holds its vault request; undefined when gone, or claimed by someone else and not lapsed at
   * `claim.now`. The lease stays recorded (its check-in retry set to `claim.until` and
   * `claim.reason`), so a process that dies before the vault confirms leaves the check-in owed to
   * the sweep of any replica. Atomic: two callers never both claim it.
   */
  claimCheckin(leaseId: string, claim: CheckinClaim): Promise<TakenLease | undefined>;
  /**
   * Ends a claimed lease once the vault confirmed its check-in (or none was needed): deletes it and
   * applies `patch` to its audit row in one statement, so no audit row outlives its lease without
   * its final state. The patch's outcome only from a state AUDIT_TRANSITIONS allows (else the row
   * stays as it was; the lease goes either way). Returns whether the lease was still there. With
   * `fence`, `store.fenced` (nothing changed) once the writer is fenced: the check-in is then the
   * fencing replica's to end.
   */
  finishCheckin(leaseId: string, patch: CredentialEventPatch, fence?: InstanceFence): Promise<boolean>;
  /**
   * The sweep's clean-up: forgets spent credential ids that expired before `before`, and lets an
   * engine without automatic clean-up reclaim the space of ended leases. Returns how many ids.
   */
  reclaim(before: Date): Promise<number>;
  listLeases(filter: { owner?: string; expiresBefore?: Date }): Promise<Lease[]>;
  /** What the sweep must check in at `at`: leases expired before it, and failed check-ins whose retry is due (indexed). */
  dueLeases(at: Date): Promise<Lease[]>;
  /** Whether a lease of `vaultUser`, not being checked in, holds vault request `vaultRequestId` (an indexed lookup). */
  holdsRequest(vaultUser: string, vaultRequestId: string): Promise<boolean>;
  /** The leases of one session (lsid) on one account (an indexed lookup). */
  sessionLeases(lsid: string, accountId: number): Promise<Lease[]>;

  /**
   * Records that `instanceId` is alive at `at`, its row holding `epoch` (0 when not given) from
   * now on: a replica joins (at start, or under a new epoch once fenced). Returns whether its row
   * was there: false on the first touch, and for an instance another replica presumed dead and
   * retired (fenced) meanwhile.
   */
  touchInstance(instanceId: string, at: Date, epoch?: number): Promise<boolean>;
  /**
   * The heartbeat of a replica that joined: records `at` only while its row holds `epoch`.
   * Returns false (nothing written) when the row is gone or holds another epoch: it was fenced.
   */
  renewInstance(fence: InstanceFence, at: Date): Promise<boolean>;
  /**
   * Instances whose last touch is older than `before`, and owners of leases created before
   * `before` that have no instance row at all (retired by a replica that died before it recovered them).
   */
  staleInstances(before: Date): Promise<string[]>;
  /**
   * Deletes the instance's row if its last touch is older than `before` (the fence: a replica that
   * comes back finds its row gone). Returns whether no row of it remains, i.e. whether its leases
   * may be recovered; false when it touched meanwhile (alive).
   */
  retireInstance(instanceId: string, before: Date): Promise<boolean>;
  /**
   * A graceful stop's hand-over: gives every lease of `from` to the instance touched most recently
   * at or after `aliveSince` (other than `from`), in one statement. Undefined (nothing moved) when
   * no other instance is alive.
   */
  handOverLeases(from: string, aliveSince: Date): Promise<{ heir: string; leases: number } | undefined>;

  /**
   * The audit row of the checkout whose lease was `leaseId` (openLease keeps a digest of the id on
   * it, never the id; an indexed lookup), so a release of a lease that is gone can say what ended
   * it. Undefined for an id never recorded (or recorded before migration 11).
   */
  leaseEvent(leaseId: string): Promise<(CredentialEvent & CheckinRecord & { id: number }) | undefined>;

  recordCredentialEvent(event: CredentialEvent): Promise<number>;
  /**
   * Applies `patch` to audit row `id`. A patch that changes the outcome applies only to a row in a
   * state AUDIT_TRANSITIONS allows it from (checked in the same statement); otherwise nothing
   * changes. Returns whether the row took the patch (false: refused, no such row, or an empty patch).
   */
  updateCredentialEvent(id: number, patch: CredentialEventPatch): Promise<boolean>;
  listCredentialEvents(filter: {
    lsid?: string;
    limit?: number;
  }): Promise<(CredentialEvent & CheckinRecord & { id: number })[]>;
}
