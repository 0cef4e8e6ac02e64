import type { SessionRecord } from './session-record.js';

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
  /**
   * Keeps sessions that failed validation (never written to BGSessions), one row per site and
   * lsid key: an entry seen again only updates its last sighting, reason and detail. Returns the
   * entries that were not quarantined before (the ones to log and count).
   */
  quarantine(entries: readonly QuarantineEntry[], at: Date): Promise<QuarantineEntry[]>;
  /** The quarantined sessions, last seen first, at most `limit` of them, and how many there are. */
  quarantined(limit: number): Promise<{ total: number; entries: QuarantinedSession[] }>;
}

/** Why a session element was refused (the `reason` label of the rejected-sessions counter: a closed set). */
export const REJECT_REASONS = ['lsid_missing', 'lsid_invalid', 'field_invalid', 'content_invalid'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** A session refused by validation, as the quarantine keeps it. */
export interface QuarantineEntry {
  site: string;
  /** The raw lsid, bounded (see boundedLsid); '' when the session had none. */
  lsid: string;
  /** SHA-256 (hex) of the whole raw lsid: with the site, the key. */
  lsidKey: string;
  reason: RejectReason;
  detail: string;
  /** The report window it was refused in. */
  window: string;
}

export interface QuarantinedSession extends QuarantineEntry {
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface WriteResult {
  inserted: number;
  updated: number;
}

export interface CursorUpdate {
  key: string;
  value: string;
}

/** Where the worker keeps its position per site and report type. */
export interface CursorStore {
  getCursor(key: string): Promise<string | undefined>;
  setCursor(key: string, value: string): Promise<void>;
}

/** A database-held mutual exclusion for jobs shared by replicas (reporting worker, migrations). */
export interface LeaderLock {
  /** Returns a handle when acquired, undefined when another holder has it. Never waits. */
  tryAcquire(name: string): Promise<LockHandle | undefined>;
}

export interface LockHandle {
  release(): Promise<void>;
  /**
   * Whether this holder still has the lock (its database session lives): checked before each
   * commit, so a leader that lost its lock stops writing beside the new one.
   */
  held(): Promise<boolean>;
}

/** What the reporting worker needs of a database: the BGSessions writer, its cursors, the leader lock. */
export interface ReportingStore {
  readonly reports: ReportStore;
  readonly state: CursorStore;
  readonly lock: LeaderLock;
}
