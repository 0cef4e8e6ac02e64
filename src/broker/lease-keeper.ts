import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { BrokerConfig } from './broker-config.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type {
  CheckinClaim,
  CredentialEvent,
  CredentialEventPatch,
  InstanceFence,
  Lease,
  LeaseStore,
  TakenLease,
} from './lease-store-port.js';
import type { VaultPort } from '../vault/vault-port.js';
import type { BrokerMetrics, CheckinReason } from './broker-metrics.js';
import { leaseIdPrefix } from '../platform/lease-id-prefix.js';
import { refusedOutcome } from './audit-states.js';
import type { BridgeCheckin, ReleaseOutcome } from './broker-port.js';

/** Check-ins in flight at once during shutdown (the vault pools one session per vault user). */
const SHUTDOWN_PARALLELISM = 8;
/**
 * Bound of the leases this instance remembers having issued, and of the releases it checked in at
 * the vault while the store was unreachable (each entry a lease without secrets, about 1 KB).
 */
const LOCAL_LEASES = 10_000;
/** Epochs are drawn at random (a positive int, the column's type): a replica never rejoins under its fenced epoch. */
const newEpoch = () => randomInt(1, 2 ** 31 - 1);
/** A failed check-in is retried after 1, 2, 4, ... sweep intervals, at most this many. */
const MAX_RETRY_INTERVALS = 16;
const CHECKIN_REASONS: readonly CheckinReason[] = ['release', 'expiry', 'shutdown', 'recovery', 'abandoned'];
/** The check-ins of the bridge's own doing that a console holding the lease is told of at release. */
const BRIDGE_CHECKINS: readonly BridgeCheckin[] = ['expiry', 'recovery', 'shutdown'];

export interface LeaseKeeperDeps {
  state: LeaseStore;
  vault: VaultPort;
  log: Logger;
  clock: Clock;
  metrics: BrokerMetrics;
  instanceId: string;
  /** Other replicas may use the same store: staleness is then judged only over time this instance had it. */
  sharedStore: boolean;
  /** The check-in reason recorded in the vault for a lease: who and why. */
  checkinReason: (lease: Lease, reason: CheckinReason) => string;
}

/**
 * Owns the life of checkouts after the secret left: records leases (never the secret), checks
 * them in on release, at expiry, at shutdown and after a crash. Crash recovery rests on the
 * instance heartbeat: a starting (or sweeping) instance checks in the leases of every instance
 * whose heartbeat is older than `staleAfterSeconds`. A check-in is claimed in the store before
 * the vault is asked (`claimCheckin`, atomic, so replicas sharing a store never check in the same
 * lease at once) and the lease goes only once the vault confirmed it (`finishCheckin`, with its
 * audit row's final state): a process that dies in between, or a failed check-in, leaves the
 * check-in owed to the sweep of any replica.
 *
 * Fencing: the instance joins with a random epoch in its instance row; every lease write it makes
 * (open, confirm, put, check-in claim and finish) carries that epoch and the store refuses it (`store.fenced`,
 * nothing changed) once the row is gone or holds another epoch. Recovery retires the dead
 * instance's row before it takes its leases, so a replica that was only frozen can neither
 * confirm a lease recovery ended nor re-create one it removed; its next heartbeat finds the row
 * gone, says so, and rejoins under a new epoch.
 */
export class LeaseKeeper {
  readonly #stop = new AbortController();
  #loops: Promise<void>[] = [];
  /**
   * Since when this instance's heartbeats have reached the store without a gap (undefined after a
   * failed one): another instance is judged stale only over time this one had the store itself.
   */
  #storeSince: number | undefined;
  #lastTouch: number | undefined;
  #epoch = newEpoch();
  /** Whether this instance's row was written under #epoch (the first heartbeat joins). */
  #joined = false;
  /** Leases this instance issued (no secrets), so a release can reach the vault while the store is unreachable. */
  readonly #issued = new Map<string, Lease>();
  /** Releases checked in at the vault while the store was unreachable, recorded once it is back. */
  readonly #journal = new Map<string, { lease: Lease; at: number }>();
  /**
   * Checkout intents whose ending could not be written (the store went away between the vault's
   * answer and the lease's confirmation): written once the store is back, so the request the
   * vault made is checked in by a sweep rather than left open until the lease's own expiry.
   */
  readonly #unsettled = new Map<string, Parameters<LeaseKeeper['settleIntent']>>();

  constructor(
    private readonly config: BrokerConfig['leases'],
    private readonly deps: LeaseKeeperDeps,
  ) {}

  async start(): Promise<void> {
    await this.heartbeat();
    await this.recoverOrphans();
    this.#loops = [
      this.#every(this.config.heartbeatSeconds, 'heartbeat', () => this.heartbeat()),
      this.#every(this.config.sweepIntervalSeconds, 'sweep', async () => {
        await this.sweep();
        await this.recoverOrphans();
      }),
    ];
  }

  /**
   * Stops the loops; with `checkin`, hands this instance's leases over to a live replica sharing
   * the store, or (none alive, or the embedded store) checks them in, a few at a time, for at
   * most `graceMs`. Leases left over stay recorded: the sweeper of another instance (stale owner)
   * or the lease's expiry ends them.
   */
  async stop(checkin: boolean, graceMs: number): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#loops);
    if (!checkin) return;
    if (this.deps.sharedStore && (await this.#handOver())) return;
    const deadline = new AbortController();
    const timer = new AbortController();
    this.deps.clock.sleep(graceMs, timer.signal).then(
      () => deadline.abort(),
      () => undefined,
    );
    try {
      const leases = await this.deps.state.listLeases({ owner: this.deps.instanceId });
      for (let i = 0; i < leases.length && !deadline.signal.aborted; i += SHUTDOWN_PARALLELISM) {
        const batch = leases.slice(i, i + SHUTDOWN_PARALLELISM);
        await Promise.all(
          batch.map((l) => this.#closeTaken(l.leaseId, 'shutdown', deadline.signal).catch(() => false)),
        );
      }
      const left = (await this.deps.state.listLeases({ owner: this.deps.instanceId })).length;
      if (left > 0)
        this.deps.log.warn({ leases: left, graceMs }, 'shutdown grace period over; leases left for expiry or recovery');
      // Nothing of this instance is left to recover: its row goes, so sweeps never look at it again.
      else await this.deps.state.retireInstance(this.deps.instanceId, new Date(this.deps.clock.now() + 1));
    } finally {
      timer.abort();
    }
  }

  /**
   * One replica among several stops: a live replica (heard from within two heartbeats) adopts its
   * leases, which stay checked out for their consoles and are released or expire as usual. False
   * when none is alive (this is the last replica): the leases are checked in then.
   */
  async #handOver(): Promise<boolean> {
    const { state, clock, instanceId, log } = this.deps;
    const now = clock.now();
    const moved = await state
      .handOverLeases(instanceId, new Date(now - 2 * this.config.heartbeatSeconds * 1000))
      .catch((e: unknown) => {
        log.warn({ err: e }, 'could not hand the leases over to another replica; checking them in');
        return undefined;
      });
    if (!moved) return false;
    this.deps.metrics.activeLeases.dec(moved.leases);
    log.info({ heir: moved.heir, leases: moved.leases }, 'leases handed over to another replica');
    await state.retireInstance(instanceId, new Date(now + 1)).catch(() => undefined);
    return true;
  }

  /**
   * The fencing token this instance's lease writes carry (its epoch changes once it was fenced);
   * none before its first heartbeat joined (no row of it exists to be fenced yet).
   */
  get fence(): InstanceFence | undefined {
    return this.#joined ? { instanceId: this.deps.instanceId, epoch: this.#epoch } : undefined;
  }

  /**
   * Records a checkout's audit row and lease together, under `fence` (taken when the checkout
   * began: its later writes carry the same, so a fence between them refuses them); returns the
   * audit row's id, or undefined (nothing recorded) when the lease's credential id is spent.
   */
  async open(
    event: CredentialEvent,
    lease: Omit<Lease, 'auditId'>,
    fence: InstanceFence | undefined,
  ): Promise<number | undefined> {
    const auditId = await this.deps.state.openLease(event, lease, fence);
    if (auditId !== undefined) this.deps.metrics.activeLeases.inc();
    return auditId;
  }

  /**
   * Checks in a lease on the console's request. Idempotent: a lease already gone is a success.
   * A lease of another console user is refused without touching it. The usual case (the same
   * user name as at checkout) is one store statement; a lease not taken that way is looked at
   * to tell "already gone" from "another user" (names compare case-insensitively). The lease's
   * credential id is spent with it (single-use), unless `spend` is false (the console never
   * received the credential). A lease the bridge checked in itself (expiry, recovery, shutdown),
   * or is checking in, is answered with that reason, so the console learns its credential ended.
   */
  async release(leaseId: string, consoleUser: string, spend = true): Promise<ReleaseOutcome> {
    const fence = this.fence;
    let taken;
    try {
      taken = await this.#claim(leaseId, 'release', { consoleUser, spend }, fence);
    } catch (e) {
      if (spend && (await this.#releaseWithoutStore(leaseId, consoleUser, e))) return {};
      throw e;
    }
    if (!taken) {
      const lease = await this.deps.state.getLease(leaseId);
      if (!lease) return this.#endedBefore(leaseId, consoleUser);
      if (lease.consoleUser.toLowerCase() !== consoleUser.toLowerCase()) {
        throw new ServiceError('credential.id_invalid', 'This lease was not issued to you', {
          op: 'broker.release',
          details: { leaseId: leaseIdPrefix(leaseId) },
        });
      }
      // Claimed by a check-in already under way (or owed): it is recorded, the sweep ends it.
      taken = await this.#claim(leaseId, 'release', { spend }, fence);
      if (!taken) return this.#told(leaseId, bridgeCheckin(lease.checkinRetry?.reason));
    }
    await this.#checkIn(taken, 'release', fence);
    return {};
  }

  /**
   * A released lease that is gone: its audit row (found by the lease id's digest) says whether
   * the bridge had checked it in itself. Nothing is said about another user's lease, an unknown
   * id, or one a console released (this one before: a repeat).
   */
  async #endedBefore(leaseId: string, consoleUser: string): Promise<ReleaseOutcome> {
    const row = await this.deps.state.leaseEvent(leaseId);
    if (!row || row.consoleUser.toLowerCase() !== consoleUser.toLowerCase()) return {};
    return this.#told(leaseId, bridgeCheckin(row.checkinReason), row.checkinAt ?? undefined);
  }

  #told(leaseId: string, reason: BridgeCheckin | undefined, at?: Date): ReleaseOutcome {
    if (reason === undefined) return {};
    this.deps.log.info(
      { leaseId: leaseIdPrefix(leaseId), reason, checkedInAt: at },
      'released a lease the bridge had already checked in; the console is told why',
    );
    return { alreadyCheckedIn: { reason, ...(at && { at }) } };
  }

  /** Remembers a lease this instance issued (bounded: the oldest is forgotten first). */
  remember(lease: Lease): void {
    if (this.#issued.size >= LOCAL_LEASES) this.#issued.delete(this.#issued.keys().next().value!);
    this.#issued.set(lease.leaseId, structuredClone(lease));
  }

  /**
   * The store is unreachable: a lease this instance issued is checked in at the vault at once (so
   * no credential stays out because the database blinked) and journalled, to be recorded when the
   * store is back. False (the caller answers the store's retryable error) for anything else: a
   * lease issued elsewhere, another user's, a full journal, or a request another local lease shares.
   */
  async #releaseWithoutStore(leaseId: string, consoleUser: string, err: unknown): Promise<boolean> {
    const { vault, clock, log, metrics } = this.deps;
    if (!isServiceError(err, 'store.unavailable') || this.#journal.size >= LOCAL_LEASES) return false;
    const lease = this.#issued.get(leaseId);
    if (!lease?.vaultRequestId || lease.consoleUser.toLowerCase() !== consoleUser.toLowerCase()) return false;
    const shared = [...this.#issued.values()].some(
      (l) => l.leaseId !== leaseId && l.vaultRequestId === lease.vaultRequestId && l.vaultUser === lease.vaultUser,
    );
    if (shared) return false;
    await vault.checkin(lease.vaultUser, lease.vaultRequestId, this.deps.checkinReason(lease, 'release'));
    this.#issued.delete(leaseId);
    this.#journal.set(leaseId, { lease, at: clock.now() });
    metrics.checkins.inc({ reason: 'release' });
    log.warn(
      { leaseId, vaultRequestId: lease.vaultRequestId, journalled: this.#journal.size },
      'store unreachable: released at the vault; the release is recorded when the store is back',
    );
    return true;
  }

  /** Records the releases journalled while the store was unreachable (the vault already confirmed them). */
  async #recordJournal(): Promise<void> {
    const { state, clock, instanceId, log, metrics } = this.deps;
    const fence = this.fence;
    for (const [leaseId, { lease, at }] of this.#journal) {
      // Claimed so no sweep checks it in again meanwhile, spending the credential id as a release does.
      const now = clock.now();
      const taken = await state.claimCheckin(leaseId, {
        now: new Date(now),
        until: new Date(now + this.config.staleAfterSeconds * 1000),
        reason: 'release',
        spend: true,
        fence,
      });
      if (
        taken &&
        (await state.finishCheckin(
          leaseId,
          { outcome: 'checked_in', checkinAt: new Date(at), checkinBy: instanceId, checkinReason: 'release' },
          fence,
        )) &&
        lease.owner === instanceId
      )
        metrics.activeLeases.dec();
      this.#journal.delete(leaseId);
      log.info({ leaseId: leaseIdPrefix(leaseId) }, 'recorded a release made while the store was unreachable');
    }
  }

  /**
   * Ends the intent of a checkout the vault did not answer with a secret. With `keep` (a
   * transient failure: Password Safe may have made the request, its answer lost) the lease stays,
   * due at the next sweep, which looks the request up and checks it in (or drops the intent once
   * none can appear); otherwise the lease goes. The audit row becomes failed (or denied) with the
   * error code either way. Never throws: what the store could not take (it was unreachable) is
   * written by the first heartbeat that reaches it again (this instance dying first leaves the
   * intent to recovery); the vault's own expiry is the last resort.
   */
  async settleIntent(intent: Lease, err: ServiceError, keep: boolean, vaultRequestId?: string): Promise<void> {
    try {
      await this.#settle(intent, err, keep, vaultRequestId);
      this.#unsettled.delete(intent.leaseId);
    } catch (e) {
      const remembered = this.#unsettled.size < LOCAL_LEASES;
      if (remembered) this.#unsettled.set(intent.leaseId, [intent, err, keep, vaultRequestId]);
      this.deps.log.error(
        { leaseId: leaseIdPrefix(intent.leaseId), err: e },
        remembered
          ? 'could not settle a checkout intent; written when the store is back'
          : 'could not settle a checkout intent; the sweeper will end it at its expiry',
      );
    }
  }

  /** Writes the intents that could not be settled while the store was unreachable (oldest first). */
  async #settleRemembered(): Promise<void> {
    for (const [leaseId, [intent, err, keep, vaultRequestId]] of this.#unsettled) {
      await this.#settle(intent, err, keep, vaultRequestId);
      this.#unsettled.delete(leaseId);
      this.deps.log.info({ leaseId: leaseIdPrefix(leaseId) }, 'settled a checkout intent once the store was back');
    }
  }

  async #settle(intent: Lease, err: ServiceError, keep: boolean, vaultRequestId?: string): Promise<void> {
    const { state, clock, metrics, instanceId } = this.deps;
    if (keep) {
      const at = new Date(clock.now() + this.config.sweepIntervalSeconds * 1000);
      // Under the epoch current when it is written: a remembered intent is written after a fenced
      // replica rejoined, as a request it knows may be open (the sweep looks it up).
      await state.putLease({ ...intent, checkinRetry: { attempts: 0, at, reason: 'abandoned' } }, this.fence);
    }
    const patch: CredentialEventPatch = {
      outcome: refusedOutcome(err.kind),
      errorCode: err.code,
      // A kept intent's request is not checked in yet: the sweep records when it is.
      ...(vaultRequestId !== undefined && { vaultRequestId, ...(!keep && { checkinAt: new Date(clock.now()) }) }),
    };
    if (!keep && (await state.finishCheckin(intent.leaseId, patch, this.fence))) {
      if (intent.owner === instanceId) metrics.activeLeases.dec();
    } else if (intent.auditId !== null) await state.updateCredentialEvent(intent.auditId, patch);
  }

  /**
   * Checks in a checkout that never became a lease (deadline passed, store failure), unless a
   * recorded lease shares its vault request. Never throws; false when it could not tell or could
   * not check in (the store or the vault failed): the caller keeps the intent for the sweep then.
   */
  async abandon(vaultUser: string, vaultRequestId: string): Promise<boolean> {
    const { vault, log, metrics } = this.deps;
    try {
      if (await this.deps.state.holdsRequest(vaultUser, vaultRequestId)) return true;
      await vault.checkin(vaultUser, vaultRequestId, 'ecm-bridge: checkout could not be delivered or recorded');
      metrics.checkins.inc({ reason: 'abandoned' });
      return true;
    } catch (e) {
      log.error(
        { vaultRequestId, err: e },
        'could not check in an undeliverable checkout; its intent is kept for the sweep to check it in',
      );
      return false;
    }
  }

  /** Leases of one session (release by credential id). */
  async findForSession(lsid: string, accountId: number, consoleUser: string): Promise<Lease[]> {
    return (await this.deps.state.sessionLeases(lsid, accountId)).filter(
      (l) => l.consoleUser.toLowerCase() === consoleUser.toLowerCase(),
    );
  }

  /**
   * Checks in every lease past its expiry, and retries every failed check-in whose backoff is
   * over, whoever made them. Returns how many were checked in.
   */
  async sweep(): Promise<number> {
    const now = this.deps.clock.now();
    // A spent credential id past its own expiry is refused as expired anyway: its record can go.
    await this.deps.state.reclaim(new Date(now));
    const due = await this.deps.state.dueLeases(new Date(now + 1));
    let n = 0;
    for (const lease of due) {
      // An owed check-in keeps the reason it was claimed for (a release whose vault call failed,
      // or whose process died, is still a release when the sweep ends it).
      const reason = lease.checkinRetry ? retryReason(lease) : 'expiry';
      if (await this.#closeTaken(lease.leaseId, reason).catch(() => false)) n++;
    }
    return n;
  }

  /**
   * Records that this instance is alive. A gap (a failed touch, or none for longer than twice the
   * heartbeat: the store was unreachable, or this process was frozen) restarts the time over which
   * it may judge others. A touch that finds its row gone means another replica presumed this one
   * dead and recovered its leases: it says so (the consoles holding them must ask again).
   */
  async heartbeat(): Promise<void> {
    const { clock, instanceId, log } = this.deps;
    const now = clock.now();
    let fenced: boolean;
    try {
      fenced = await this.#touch(now);
    } catch (e) {
      this.#storeSince = undefined;
      throw e;
    }
    const gap = this.#lastTouch !== undefined && now - this.#lastTouch > 2 * this.config.heartbeatSeconds * 1000;
    if (this.#storeSince === undefined || gap || fenced) this.#storeSince = now;
    if (fenced && this.#lastTouch !== undefined)
      log.error(
        { instanceId, silentSeconds: Math.round((now - this.#lastTouch) / 1000), epoch: this.#epoch },
        'this replica was presumed dead and fenced by another, which checked in the leases it had issued; their consoles must request the credentials again; rejoined under a new epoch',
      );
    this.#lastTouch = now;
    await this.#recordJournal();
    await this.#settleRemembered();
  }

  /**
   * Renews this instance's row under its epoch, or joins (the first time, or once fenced: under a
   * new epoch, so no write of the fenced one can pass again). Returns whether it was fenced: its row
   * gone or holding another epoch. The leases it remembers issuing are then forgotten: recovery ended them.
   */
  async #touch(now: number): Promise<boolean> {
    const { state, instanceId } = this.deps;
    const fence = this.fence;
    if (fence && (await state.renewInstance(fence, new Date(now)))) return false;
    const fenced = this.#joined;
    if (fenced) {
      this.#epoch = newEpoch();
      this.#issued.clear();
    }
    // A restarted process may find its predecessor's row (another epoch): it takes it over.
    await state.touchInstance(instanceId, new Date(now), this.#epoch);
    this.#joined = true;
    return fenced;
  }

  /**
   * Checks in the leases of instances whose heartbeat stopped (crashed), retiring their rows (the
   * fence). On a store other replicas share, only once this instance itself has had the store for
   * `staleAfterSeconds` without a gap: a silence it shares (the database was unreachable for
   * everyone) proves nothing. Returns how many.
   */
  async recoverOrphans(): Promise<number> {
    const { state, clock, instanceId, log } = this.deps;
    const now = clock.now();
    const before = new Date(now - this.config.staleAfterSeconds * 1000);
    if (this.deps.sharedStore && (this.#storeSince === undefined || this.#storeSince > before.getTime())) return 0;
    const stale = (await state.staleInstances(before)).filter((id) => id !== instanceId);
    let n = 0;
    for (const owner of stale) {
      // Touched meanwhile: alive after all.
      if (!(await state.retireInstance(owner, before))) continue;
      const leases = await state.listLeases({ owner });
      if (leases.length > 0)
        log.warn({ owner, leases: leases.length }, 'checking in leases left by a stopped bridge instance');
      for (const lease of leases) {
        // A check-in already owed (a release the dead instance had begun) keeps its reason.
        const reason = lease.checkinRetry ? retryReason(lease) : 'recovery';
        if (await this.#closeTaken(lease.leaseId, reason).catch(() => false)) n++;
      }
    }
    return n;
  }

  /** Claims the lease (atomically, spending its credential id) and checks it in; false when someone else already had it. */
  async #closeTaken(leaseId: string, reason: CheckinReason, signal?: AbortSignal): Promise<boolean> {
    const fence = this.fence;
    const taken = await this.#claim(leaseId, reason, { spend: true }, fence);
    if (!taken) return false;
    await this.#checkIn(taken, reason, fence, signal);
    return true;
  }

  /**
   * Records the check-in as owed before the vault is asked: the claim lapses after
   * `staleAfterSeconds`, when any replica's sweep takes it up if this one did not finish.
   */
  #claim(
    leaseId: string,
    reason: CheckinReason,
    opts: Pick<CheckinClaim, 'consoleUser' | 'spend'>,
    fence: InstanceFence | undefined,
  ): Promise<TakenLease | undefined> {
    const now = this.deps.clock.now();
    return this.deps.state.claimCheckin(leaseId, {
      ...opts,
      now: new Date(now),
      until: new Date(now + this.config.staleAfterSeconds * 1000),
      reason,
      fence,
    });
  }

  /**
   * Checks in a taken lease's vault request (unless another lease holds it) and closes its audit
   * row. A failure is recorded under the fence the lease was claimed with: if this instance was
   * fenced since (and rejoined under a new epoch), the lease is no longer its to write.
   */
  async #checkIn(
    { lease, shared }: TakenLease,
    reason: CheckinReason,
    fence: InstanceFence | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { state, vault, clock, log, instanceId } = this.deps;
    const leaseId = lease.leaseId;
    let requestId: string;
    try {
      if (lease.vaultRequestId === null) {
        // An intent: the vault was asked but its answer never recorded (lost, or the process died).
        const found = await this.#findIntended(lease, signal);
        if (found === undefined) {
          await this.#dropIntent(lease, fence);
          return;
        }
        requestId = found;
        shared = await state.holdsRequest(lease.vaultUser, requestId);
      } else requestId = lease.vaultRequestId;
      // With ConflictOption "reuse" two sessions can share one vault request: only the last
      // lease on it checks it in, so the other session's credential stays valid.
      if (!shared) await vault.checkin(lease.vaultUser, requestId, this.deps.checkinReason(lease, reason), signal);
      else
        log.info(
          { leaseId, vaultRequestId: requestId },
          'vault request still used by another lease; not checked in yet',
        );
    } catch (e) {
      // Keep the lease, due for a sweep after a backoff that doubles per failure; the vault's own
      // expiry ends the request if every retry fails.
      const attempts = (lease.checkinRetry?.attempts ?? 0) + 1;
      const waitMs = this.config.sweepIntervalSeconds * 1000 * Math.min(2 ** (attempts - 1), MAX_RETRY_INTERVALS);
      const at = new Date(clock.now() + waitMs);
      try {
        await state.putLease({ ...lease, checkinRetry: { attempts, at, reason } }, fence);
      } catch (pe) {
        if (!isServiceError(pe, 'store.fenced')) throw pe;
        // Fenced meanwhile: the replica that fenced this one took the lease over (its claim, or
        // its sweep, ends it); writing the retry would re-create a row its recovery removed.
        log.error(
          { leaseId: leaseIdPrefix(leaseId), vaultRequestId: lease.vaultRequestId, reason, err: e },
          'check-in failed and this replica was fenced by another meanwhile; the check-in is left to it',
        );
        throw pe;
      }
      log.warn(
        { leaseId, vaultRequestId: lease.vaultRequestId, reason, attempts, retryAt: at, err: e },
        'check-in failed; will retry',
      );
      throw e;
    }
    if (lease.vaultRequestId === null) {
      // The checkout never reached the console (as far as this bridge knows): its row stays failed.
      await this.#finish(lease, reason, fence, {
        outcome: 'failed',
        vaultRequestId: requestId,
        checkinAt: new Date(clock.now()),
        checkinBy: instanceId,
        checkinReason: reason,
      });
      log.warn(
        { leaseId, vaultRequestId: requestId, reason },
        'found the release request of an unrecorded checkout; checked in',
      );
      return;
    }
    await this.#finish(lease, reason, fence, {
      outcome: reason === 'expiry' ? 'expired' : 'checked_in',
      checkinAt: new Date(clock.now()),
      checkinBy: instanceId,
      checkinReason: reason,
    });
    log.info(
      { leaseId: leaseIdPrefix(leaseId), vaultRequestId: lease.vaultRequestId, lsid: lease.lsid, reason },
      'lease checked in',
    );
  }

  /**
   * The vault request an intent made, looked up among the vault user's active requests. While the
   * intent is younger than `staleAfterSeconds` a miss throws (retried with backoff: a late `POST
   * Requests` may still create it); after that a miss means no request exists.
   */
  async #findIntended(lease: Lease, signal?: AbortSignal): Promise<string | undefined> {
    const durationMinutes = Math.round((lease.expiresAt.getTime() - lease.createdAt.getTime()) / 60_000);
    const found = await this.deps.vault.findRequest(lease.vaultUser, lease, durationMinutes, signal);
    if (found !== undefined) return found;
    if (this.deps.clock.now() - lease.createdAt.getTime() < this.config.staleAfterSeconds * 1000)
      throw new ServiceError('vault.unavailable', 'the release request of an unanswered checkout is not visible yet', {
        op: 'broker.recover_intent',
        details: { leaseId: leaseIdPrefix(lease.leaseId) },
      });
    return undefined;
  }

  /**
   * The vault confirmed the check-in (or none was needed): the lease goes and its audit row gets
   * its final state in one statement, under the fence the lease was claimed with. If that write
   * fails (or is refused: this instance was fenced meanwhile), the claim lapses and a sweep checks
   * the request in again (the vault answers "already checked in") and records it then.
   */
  async #finish(
    lease: Lease,
    reason: CheckinReason,
    fence: InstanceFence | undefined,
    patch: CredentialEventPatch,
  ): Promise<void> {
    const { state, metrics, instanceId } = this.deps;
    metrics.checkins.inc({ reason });
    this.#issued.delete(lease.leaseId);
    if ((await state.finishCheckin(lease.leaseId, patch, fence)) && lease.owner === instanceId)
      metrics.activeLeases.dec();
  }

  /** An intent whose vault request never appeared: nothing to check in; its audit row stays failed. */
  async #dropIntent(lease: Lease, fence: InstanceFence | undefined): Promise<void> {
    const { state, clock, log, metrics, instanceId } = this.deps;
    if (
      (await state.finishCheckin(
        lease.leaseId,
        { outcome: 'failed', checkinAt: new Date(clock.now()), checkinBy: instanceId, checkinReason: 'none' },
        fence,
      )) &&
      lease.owner === instanceId
    )
      metrics.activeLeases.dec();
    log.info(
      { leaseId: leaseIdPrefix(lease.leaseId) },
      'no vault request exists for an unrecorded checkout; intent dropped',
    );
  }

  async #every(seconds: number, name: string, task: () => Promise<unknown>): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.deps.clock.sleep(seconds * 1000, signal);
      } catch {
        return;
      }
      try {
        await task();
      } catch (e) {
        this.deps.log.warn({ task: name, err: e }, 'lease maintenance failed; retrying on the next tick');
      }
    }
  }
}

/** A stored check-in reason, when it is one of the bridge's own doing a console is told of. */
function bridgeCheckin(reason: string | null | undefined): BridgeCheckin | undefined {
  return BRIDGE_CHECKINS.find((r) => r === reason);
}

/** The reason a failed check-in was attempted for (a stored string), as a metric label. */
function retryReason(lease: Lease): CheckinReason {
  const r = lease.checkinRetry?.reason;
  return CHECKIN_REASONS.find((x) => x === r) ?? 'release';
}
