import { ServiceError } from '../../platform/errors.js';
import type { Health } from '../../platform/health.js';
import { leaderLost } from '../leader-lost.js';
import type { SessionRecord } from '../../reporting/session-record.js';
import { lastOccurrences, planBatch } from '../session-rows.js';
import { fencedError, leaseKey } from '../state-rows.js';
import {
  mayMove,
  type CheckinClaim,
  type CheckinRecord,
  type Confirmation,
  type CredentialEvent,
  type CredentialEventPatch,
  type InstanceFence,
  type Lease,
} from '../../broker/lease-store-port.js';
import type {
  CommitFence,
  CursorUpdate,
  FailbackState,
  FailbackStore,
  LeaderLeases,
  LeaderLock,
  LeaderTerm,
  LockHandle,
  MissingRecording,
  MissingRecordingQuery,
  QuarantinedSession,
  QuarantineEntry,
  ReportStore,
  WriteResult,
} from '../../reporting/report-store-port.js';
import type { StateStore, Store } from '../store-ports.js';

/**
 * In-memory implementations of the store ports, for unit tests and as the reference the contract
 * suite holds the real adapters to. Values are cloned in and out so callers cannot mutate state.
 */
export class MemoryStateStore implements StateStore {
  readonly cursors = new Map<string, string>();
  readonly leases = new Map<string, Lease>();
  readonly instances = new Map<string, Date>();
  /** The epoch each instance row holds (its fencing token). */
  readonly epochs = new Map<string, number>();
  /** Spent credential keys and when each credential id expires. */
  readonly spent = new Map<string, Date>();
  readonly events: (CredentialEvent & CheckinRecord & { id: number })[] = [];
  /** The lease key (digest of the lease id) of each checkout's audit row, as the SQL adapters keep it. */
  readonly eventLeaseKeys = new Map<string, number>();

  async getCursor(key: string) {
    return this.cursors.get(key);
  }
  async setCursor(key: string, value: string) {
    this.cursors.set(key, value);
  }

  async putLease(lease: Lease, fence?: InstanceFence) {
    this.#checkFence('putLease', fence);
    this.leases.set(lease.leaseId, structuredClone(lease));
  }
  /** Both rows or neither, like the SQL adapters' single statement (no other method is called in between). */
  async openLease(event: CredentialEvent, lease: Omit<Lease, 'auditId'>, fence?: InstanceFence) {
    this.#checkFence('openLease', fence);
    if (this.leases.has(lease.leaseId))
      throw new ServiceError('store.write_failed', `store openLease failed: lease ${lease.leaseId} exists`, {
        op: 'store.openLease',
      });
    if (lease.credential && this.spent.has(lease.credential.key)) return undefined;
    const auditId = this.events.length + 1;
    this.leases.set(lease.leaseId, structuredClone({ ...lease, auditId }));
    this.events.push({ ...structuredClone(event), checkinBy: null, checkinReason: null, id: auditId });
    this.eventLeaseKeys.set(leaseKey(lease.leaseId), auditId);
    return auditId;
  }
  async confirmLease(
    leaseId: string,
    vaultRequestId: string,
    expiresAt: Date,
    checkoutAt: Date,
    fence?: InstanceFence,
  ): Promise<Confirmation> {
    this.#checkFence('confirmLease', fence);
    const l = this.leases.get(leaseId);
    if (!l) return { outcome: 'confirmed' };
    const key = l.credential?.key;
    if (key !== undefined && this.spent.has(key)) return { outcome: 'spent' };
    const held =
      key === undefined
        ? undefined
        : [...this.leases.values()].find(
            (o) =>
              o.leaseId !== leaseId &&
              o.credential?.key === key &&
              o.vaultRequestId === vaultRequestId &&
              o.lsid === l.lsid,
          );
    const found = this.events.find((x) => x.id === l.auditId);
    // The audit row moves only from a state the transition table allows.
    const e = found && mayMove(found.outcome, 'checked_out') ? found : undefined;
    if (e) Object.assign(e, { vaultRequestId, outcome: 'checked_out', checkoutAt: new Date(checkoutAt) });
    if (held) {
      held.joinedAnswers = (held.joinedAnswers ?? 0) + 1;
      this.leases.delete(leaseId);
      if (e) Object.assign(e, { checkinAt: new Date(checkoutAt), checkinReason: 'joined' });
      return { outcome: 'joined', leaseId: held.leaseId } as const;
    }
    Object.assign(l, { vaultRequestId, expiresAt: new Date(expiresAt) });
    return { outcome: 'confirmed' } as const;
  }
  async getLease(leaseId: string) {
    const l = this.leases.get(leaseId);
    return l && structuredClone(l);
  }
  async claimCheckin(leaseId: string, claim: CheckinClaim) {
    if (claim.fence) this.#checkFence('claimCheckin', claim.fence);
    const lease = this.leases.get(leaseId);
    if (!lease || (claim.consoleUser !== undefined && lease.consoleUser !== claim.consoleUser)) return undefined;
    if (lease.checkinRetry !== undefined && lease.checkinRetry.at > claim.now) return undefined;
    lease.checkinRetry = {
      attempts: lease.checkinRetry?.attempts ?? 0,
      at: new Date(claim.until),
      reason: claim.reason,
    };
    if (claim.spend && lease.credential && lease.vaultRequestId !== null && !this.spent.has(lease.credential.key))
      this.spent.set(lease.credential.key, new Date(lease.credential.expiresAt));
    return { lease: structuredClone(lease), shared: await this.holdsRequest(lease.vaultUser, lease.vaultRequestId) };
  }
  async finishCheckin(leaseId: string, patch: CredentialEventPatch, fence?: InstanceFence) {
    this.#checkFence('finishCheckin', fence);
    const lease = this.leases.get(leaseId);
    if (!lease) return false;
    this.leases.delete(leaseId);
    if (lease.auditId !== null) await this.updateCredentialEvent(lease.auditId, patch);
    return true;
  }
  async reclaim(before: Date) {
    const gone = [...this.spent].filter(([, at]) => at < before).map(([key]) => key);
    for (const key of gone) this.spent.delete(key);
    return gone.length;
  }
  async holdsRequest(vaultUser: string, vaultRequestId: string | null) {
    if (vaultRequestId === null) return false;
    return [...this.leases.values()].some(
      (l) => l.vaultRequestId === vaultRequestId && l.vaultUser === vaultUser && l.checkinRetry === undefined,
    );
  }
  async sessionLeases(lsid: string, accountId: number) {
    return [...this.leases.values()]
      .filter((l) => l.lsid === lsid && l.accountId === accountId)
      .map((l) => structuredClone(l));
  }
  async listLeases(filter: { owner?: string; expiresBefore?: Date }) {
    return [...this.leases.values()]
      .filter(
        (l) =>
          (filter.owner === undefined || l.owner === filter.owner) &&
          (filter.expiresBefore === undefined || l.expiresAt < filter.expiresBefore),
      )
      .map((l) => structuredClone(l));
  }

  async dueLeases(at: Date) {
    return [...this.leases.values()]
      .filter((l) => l.expiresAt < at || (l.checkinRetry !== undefined && l.checkinRetry.at <= at))
      .map((l) => structuredClone(l));
  }

  async touchInstance(instanceId: string, at: Date, epoch = 0) {
    const existed = this.instances.has(instanceId);
    this.instances.set(instanceId, at);
    this.epochs.set(instanceId, epoch);
    return existed;
  }
  async renewInstance(fence: InstanceFence, at: Date) {
    if (!this.#holds(fence)) return false;
    this.instances.set(fence.instanceId, at);
    return true;
  }
  #holds(fence: InstanceFence): boolean {
    return this.instances.has(fence.instanceId) && this.epochs.get(fence.instanceId) === fence.epoch;
  }
  /** The SQL adapters check the fence in the statement that writes; here before anything changes. */
  #checkFence(op: string, fence: InstanceFence | undefined): void {
    if (fence && !this.#holds(fence)) throw fencedError(op, fence);
  }
  async staleInstances(before: Date) {
    const rowless = [...this.leases.values()]
      .filter((l) => l.createdAt < before && !this.instances.has(l.owner))
      .map((l) => l.owner);
    const stale = [...this.instances].filter(([, at]) => at < before).map(([id]) => id);
    return [...new Set([...stale, ...rowless])].sort();
  }
  async handOverLeases(from: string, aliveSince: Date) {
    const heir = [...this.instances]
      .filter(([id, at]) => id !== from && at >= aliveSince)
      .sort(([a, x], [b, y]) => y.getTime() - x.getTime() || a.localeCompare(b))[0]?.[0];
    if (heir === undefined) return undefined;
    const mine = [...this.leases.values()].filter((l) => l.owner === from);
    for (const l of mine) l.owner = heir;
    return { heir, leases: mine.length };
  }
  async retireInstance(instanceId: string, before: Date) {
    const at = this.instances.get(instanceId);
    if (at !== undefined && at < before) {
      this.instances.delete(instanceId);
      this.epochs.delete(instanceId);
    }
    return !this.instances.has(instanceId);
  }

  async leaseEvent(leaseId: string) {
    const id = this.eventLeaseKeys.get(leaseKey(leaseId));
    const e = this.events.find((x) => x.id === id);
    return e && structuredClone(e);
  }
  async recordCredentialEvent(event: CredentialEvent) {
    const id = this.events.length + 1;
    this.events.push({ ...structuredClone(event), checkinBy: null, checkinReason: null, id });
    return id;
  }
  async updateCredentialEvent(id: number, patch: CredentialEventPatch) {
    const e = this.events.find((x) => x.id === id);
    if (!e || Object.values(patch).every((v) => v === undefined)) return false;
    if (patch.outcome !== undefined && !mayMove(e.outcome, patch.outcome)) return false;
    Object.assign(e, structuredClone(patch));
    return true;
  }
  async listCredentialEvents(filter: { lsid?: string; limit?: number }) {
    return this.events
      .filter((e) => filter.lsid === undefined || e.lsid === filter.lsid)
      .slice(-(filter.limit ?? 1000))
      .map((e) => structuredClone(e));
  }
}

export class MemoryReportStore implements ReportStore {
  readonly sessions = new Map<string, SessionRecord>();
  readonly #quarantine = new Map<string, QuarantinedSession>();
  /** Owed recording files by `site NUL recording`. */
  readonly #missing = new Map<string, MissingRecording>();

  constructor(
    private readonly state: MemoryStateStore,
    private readonly leadership: MemoryLeaderLeases,
  ) {}

  /** Rejects what the real adapters reject (values too long for their column, repeated child keys) before storing anything. */
  async writeSessions(
    sessions: readonly SessionRecord[],
    cursor?: CursorUpdate,
    fence?: CommitFence,
  ): Promise<WriteResult> {
    planBatch(sessions);
    if (fence && !(await this.leadership.renew(fence, fence.until))) throw leaderLost(fence);
    const result = { inserted: 0, updated: 0 };
    for (const s of lastOccurrences(sessions)) {
      const key = `${s.hostName}\u0000${s.lsid}`;
      if (this.sessions.has(key)) result.updated++;
      else result.inserted++;
      this.sessions.set(key, structuredClone(s));
    }
    if (cursor) await this.state.setCursor(cursor.key, cursor.value);
    return result;
  }

  async readSession(hostName: string, lsid: string) {
    const s = this.sessions.get(`${hostName}\u0000${lsid}`);
    return s && structuredClone(s);
  }

  /** The row counts the SQL adapters would have, table by table (see session-rows.ts for the mapping). */
  async tableCounts() {
    const all = [...this.sessions.values()];
    const events = all.flatMap((s) => s.events);
    const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);
    return {
      session: all.length,
      session_event: events.length,
      session_event_file: sum(events, (e) => Math.max(0, e.files.length - 1)),
      session_event_data: sum(events, (e) => e.data.length),
      system_information: sum(events, (e) => e.systemInformation.length),
      customer: sum(all, (s) => s.customers.length),
      representative: sum(all, (s) => s.representatives.length),
      team: sum(all, (s) => s.teams.length),
      custom_attribute: sum(all, (s) => s.customAttributes.length),
      command_shell_recording: sum(all, (s) => s.shellRecordings.length),
    };
  }

  async quarantine(entries: readonly QuarantineEntry[], at: Date): Promise<QuarantineEntry[]> {
    const fresh: QuarantineEntry[] = [];
    for (const e of entries) {
      const key = `${e.site}\u0000${e.lsidKey}`;
      const seen = this.#quarantine.get(key);
      if (!seen) fresh.push(e);
      this.#quarantine.set(key, { ...e, firstSeenAt: seen?.firstSeenAt ?? at, lastSeenAt: at });
    }
    return fresh;
  }

  async quarantined(limit: number) {
    const all = [...this.#quarantine.values()].sort((a, b) => b.lastSeenAt.getTime() - a.lastSeenAt.getTime());
    return { total: all.length, entries: all.slice(0, limit).map((e) => structuredClone(e)) };
  }

  async noteMissingRecordings(entries: readonly MissingRecording[]): Promise<void> {
    for (const e of entries) {
      const key = `${e.site}\u0000${e.recording}`;
      const seen = this.#missing.get(key);
      const first = seen && seen.firstFailedAt < e.firstFailedAt ? seen.firstFailedAt : e.firstFailedAt;
      this.#missing.set(key, structuredClone({ ...e, firstFailedAt: first }));
    }
  }

  async forgetMissingRecordings(site: string, recordings: readonly string[]): Promise<void> {
    for (const r of recordings) this.#missing.delete(`${site}\u0000${r}`);
  }

  async missingRecordings(q: MissingRecordingQuery) {
    const ofSite = [...this.#missing.values()].filter((e) => q.site === undefined || e.site === q.site);
    const due = ofSite
      .filter((e) => q.dueBy === undefined || e.nextTryAt <= q.dueBy)
      .sort(
        (a, b) => a.nextTryAt.getTime() - b.nextTryAt.getTime() || cmp(a.site, b.site) || cmp(a.recording, b.recording),
      );
    return { total: ofSite.length, entries: due.slice(0, q.limit).map((e) => structuredClone(e)) };
  }
}

export class MemoryLeaderLock implements LeaderLock {
  readonly held = new Set<string>();

  async tryAcquire(name: string): Promise<LockHandle | undefined> {
    if (this.held.has(name)) return undefined;
    this.held.add(name);
    let released = false;
    return {
      release: async () => {
        if (!released) this.held.delete(name);
        released = true;
      },
    };
  }
}

export class MemoryLeaderLeases implements LeaderLeases {
  readonly rows = new Map<string, { holder: string; epoch: number; expiresAt: Date }>();

  async take(name: string, holder: string, now: Date, until: Date): Promise<LeaderTerm | undefined> {
    const row = this.rows.get(name);
    if (row && row.expiresAt >= now) return undefined;
    const epoch = (row?.epoch ?? 0) + 1;
    this.rows.set(name, { holder, epoch, expiresAt: until });
    return { name, holder, epoch };
  }

  async renew(term: LeaderTerm, until: Date): Promise<boolean> {
    const row = this.#current(term);
    if (row) row.expiresAt = until;
    return row !== undefined;
  }

  async release(term: LeaderTerm): Promise<void> {
    const row = this.#current(term);
    if (row) row.expiresAt = new Date(0);
  }

  #current(term: LeaderTerm) {
    const row = this.rows.get(term.name);
    return row?.holder === term.holder && row.epoch === term.epoch ? row : undefined;
  }
}

/** The failback state per site; rejects a primary longer than the SQL adapters' column (300). */
export class MemoryFailbackStore implements FailbackStore {
  readonly #rows = new Map<string, FailbackState>();

  constructor(private readonly leadership: MemoryLeaderLeases) {}

  async get(site: string): Promise<FailbackState | undefined> {
    return structuredClone(this.#rows.get(site));
  }

  async put(site: string, state: FailbackState, fence?: CommitFence): Promise<void> {
    if ((state.primary?.length ?? 0) > 300)
      throw new ServiceError('store.write_failed', `the failback state's primary of site ${site} is longer than 300`, {
        op: 'store.failback',
      });
    if (fence && !(await this.leadership.renew(fence, fence.until))) throw leaderLost(fence);
    this.#rows.set(site, structuredClone(state));
  }
}

export class MemoryStore implements Store {
  readonly state = new MemoryStateStore();
  readonly leadership = new MemoryLeaderLeases();
  readonly failback = new MemoryFailbackStore(this.leadership);
  readonly reports = new MemoryReportStore(this.state, this.leadership);
  readonly lock = new MemoryLeaderLock();
  async migrate() {
    return 1;
  }
  async schemaVersion() {
    return 1;
  }
  async health(): Promise<Health> {
    return undefined;
  }
  async close() {}
}

/** Code-unit order, as the real adapters' binary-ish collation of these ASCII keys. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
