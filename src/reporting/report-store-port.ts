import type { SessionRecord } from './session-record.js';

/**
 * Writes parsed sessions into the BGSessions tables.
 * Contract: `writeSessions` is idempotent on (hostName, lsid): a session written again replaces
 * its row's columns and all its child rows, in one transaction with the rest of the batch, so a
 * reader never sees half a session or half a batch. When `cursor` is given it is stored in the
 * same transaction: the cursor moves only if the batch committed. When `fence` is given, the
 * same transaction first renews that leadership term (see LeaderLeases) and, when the term is
 * over (another holder took the lease), writes nothing and rejects with `report.leader_lost`.
 */
export interface ReportStore {
  writeSessions(sessions: readonly SessionRecord[], cursor?: CursorUpdate, fence?: CommitFence): Promise<WriteResult>;
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
  /**
   * Records recording files that could not be fetched, one row per site and `recording` name:
   * an entry already owed is replaced, keeping its earliest `firstFailedAt`.
   */
  noteMissingRecordings(entries: readonly MissingRecording[]): Promise<void>;
  /** Forgets owed files of `site` (fetched, found on disk, or expired); unknown names are ignored. */
  forgetMissingRecordings(site: string, recordings: readonly string[]): Promise<void>;
  /**
   * Owed files, soonest due first, at most `limit`: of `site` only when given, and only those due
   * by `dueBy` when given; `total` counts every owed file of the site (or of all sites).
   */
  missingRecordings(query: MissingRecordingQuery): Promise<{ total: number; entries: MissingRecording[] }>;
}

/** A recording file not fetched yet: its session is stored, the file is owed until fetched or expired. */
export interface MissingRecording {
  site: string;
  /** Its name under the recordings directory (recordingName): with the site, the key. */
  recording: string;
  lsid: string;
  /** The command shell recording's instance; null for the session recording. */
  instance: number | null;
  /** The download URL the report gave, null when it gave none. */
  url: string | null;
  /** The public name of the node it is fetched from, when its URL names one (a traffic node). */
  node: string | null;
  /** Failed attempts so far (the backoff grows with them). */
  attempts: number;
  /** The error code of the last attempt, and its message (bounded, at most 300 characters). */
  lastCode: string;
  lastError: string;
  firstFailedAt: Date;
  lastTriedAt: Date;
  nextTryAt: Date;
}

export interface MissingRecordingQuery {
  site?: string;
  dueBy?: Date;
  limit: number;
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

/** A database-held mutual exclusion for the lifetime of a process's session (migrations). */
export interface LeaderLock {
  /** Returns a handle when acquired, undefined when another holder has it. Never waits. */
  tryAcquire(name: string): Promise<LockHandle | undefined>;
}

export interface LockHandle {
  release(): Promise<void>;
}

/** One holder's term of a leadership: its epoch is raised by every take, so no two terms share one. */
export interface LeaderTerm {
  name: string;
  holder: string;
  epoch: number;
}

/** What a fenced commit carries: the term it must still be, and the expiry it renews the lease to. */
export interface CommitFence extends LeaderTerm {
  until: Date;
}

/**
 * Leadership with a bounded lease, shared by replicas (the reporting worker, `report backfill`).
 * Times come from the caller's clock. Correctness rests on the epoch, not on time: a term ends
 * only when another holder takes the lease (after it lapsed), and every commit checks its term in
 * its own transaction (CommitFence), so a holder that stopped renewing (hung, cut off) loses the
 * lease after its expiry and, when it wakes, writes nothing.
 */
export interface LeaderLeases {
  /** Takes `name` for `holder` until `until` when nobody holds it or its lease lapsed by `now`; undefined when another holds it. */
  take(name: string, holder: string, now: Date, until: Date): Promise<LeaderTerm | undefined>;
  /** Extends the term's lease to `until`; false when the term is over (another holder took the lease). */
  renew(term: LeaderTerm, until: Date): Promise<boolean>;
  /** Ends the term now (its lease lapses at once), when it is still current. */
  release(term: LeaderTerm): Promise<void>;
}

/**
 * A failover site's failback state, as the store keeps it between pulls (see FailbackReread): who
 * answered as primary at the last pull, and the re-read a primary change left owed.
 */
export interface FailbackState {
  /** A `nodes:` origin or the appliance behind the site URL; null when the site URL last reached a backup. */
  primary: string | null;
  /** Owed: re-read from `fromMs` once the primary reports a successful data sync at or after `syncAfterMs`. */
  reread?: { fromMs: number; syncAfterMs: number };
}

/**
 * Where the failback state lives, one row per site, so a restart or another replica taking the
 * reporting leadership continues a re-read. `put` replaces the site's state; when `fence` is given
 * it first renews that leadership term in the same transaction and, when the term is over, writes
 * nothing and rejects with `report.leader_lost` (as `writeSessions` does).
 */
export interface FailbackStore {
  get(site: string): Promise<FailbackState | undefined>;
  put(site: string, state: FailbackState, fence?: CommitFence): Promise<void>;
}

/** What the reporting worker needs of a database: the BGSessions writer, its cursors, the leadership, the failback state. */
export interface ReportingStore {
  readonly reports: ReportStore;
  readonly state: CursorStore;
  readonly leadership: LeaderLeases;
  readonly failback: FailbackStore;
}
