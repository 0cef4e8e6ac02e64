/**
 * The JSON the status page reads. Plain data assembled by the composition root from the running
 * units; the ops server only serves it. Nothing here may ever hold a secret or a credential id.
 */

export interface HealthEntry {
  /** `vault`, `store`, `reporting`, `config`, `broker`, ... */
  component: string;
  ready: boolean;
  reason: string;
}

export interface NodeEntry {
  node: string;
  healthy: boolean;
  role: string;
  lastDataSyncAt?: string;
  detail: string;
  checkedAt: string;
}

export interface SiteEntry {
  site: string;
  /** `connected`, `connecting`, `backoff`, `blocked`, `stopped`, `idle`, or `not running`. */
  state: string;
  reason?: string;
  /** Position in the ECM group: `active` or `standby` (while connected). */
  role?: string;
  group?: string;
  connectedSince?: string;
  nodes: NodeEntry[];
  lastHour: { answered: number; refused: number };
}

export interface PullPoint {
  at: string;
  outcome: string;
  sessions: number;
  lagSeconds: number | null;
}

export interface ReportingEntry {
  site: string;
  lagSeconds: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** The last 24 h of pulls, oldest first (kept in memory by the running worker). */
  pulls: PullPoint[];
}

export interface LeaseEntry {
  site: string;
  consoleUser: string;
  vaultUser: string;
  systemName: string;
  accountName: string;
  lsid: string | null;
  checkedOutAt: string;
  expiresAt: string;
}

export interface AuditEntry {
  id: number;
  site: string;
  outcome: string;
  consoleUser: string;
  vaultUser: string | null;
  systemName: string | null;
  accountName: string | null;
  lsid: string | null;
  errorCode: string | null;
  checkoutAt: string | null;
  checkinAt: string | null;
}

export interface StatusOverview {
  generatedAt: string;
  /** The whole bridge as /readyz reports it. */
  ready: boolean;
  health: HealthEntry[];
  sites: SiteEntry[];
  reporting: ReportingEntry[];
  /** Leases checked out now (at most `LEASES_SHOWN`, soonest expiry first) and how many there are. */
  leases: { total: number; shown: LeaseEntry[] } | { error: string };
  /** The last 50 credential audit events, newest first. */
  events: AuditEntry[] | { error: string };
  /** Sessions refused by validation and quarantined (at most `QUARANTINE_SHOWN`, last seen first) and how many there are. */
  quarantine: { total: number; shown: QuarantineView[] } | { error: string };
  /** Recording files owed (at most `MISSING_RECORDINGS_SHOWN`, soonest retry first) and how many there are. */
  missingRecordings: { total: number; shown: MissingRecordingView[] } | { error: string };
}

/** A recording file not fetched yet: where it lives, why it failed last, when it is tried again. */
export interface MissingRecordingView {
  site: string;
  recording: string;
  node: string | null;
  attempts: number;
  lastCode: string;
  lastError: string;
  firstFailedAt: string;
  nextTryAt: string;
}

/** A quarantined session: its raw lsid (bounded), why it was refused, where and when. */
export interface QuarantineView {
  site: string;
  lsid: string;
  reason: string;
  detail: string;
  window: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

export interface TestSettingsRequest {
  user: string;
  provider?: string;
  endpoint: string;
  jumpGroup?: string;
  /** A draft configuration to explain instead of the running one. */
  draftYaml?: string;
}

export type TestSettingsAnswer =
  | { kind: 'invalid'; problems: string[] }
  | {
      kind: 'explained';
      config: 'running' | 'draft';
      ok: boolean;
      /** `Result: ...` line of the explanation. */
      verdict: string;
      offered: { displayName: string; source: string; kind: string }[];
      /** The explanation as `ecm-bridge test-settings` prints it. */
      text: string;
    };

/** What the ops server needs to serve the status page. */
export interface StatusSource {
  overview(): Promise<StatusOverview>;
  testSettings(input: TestSettingsRequest, signal: AbortSignal): Promise<TestSettingsAnswer>;
}

export const LEASES_SHOWN = 100;
export const EVENTS_SHOWN = 50;
export const QUARANTINE_SHOWN = 20;
export const MISSING_RECORDINGS_SHOWN = 20;
