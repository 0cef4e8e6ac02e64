import type { Readable } from 'node:stream';
import type { SiteConfig } from '../appliance/site-config.js';
import type { RejectedSession } from './rejected-session.js';
import type { ReportingConfig } from './reporting-config.js';
import type { SessionRecord, SessionSummary } from './session-record.js';

/** A time selection of the Reporting API: sessions that started (`start`) or ended (`end`) in [fromMs, toMs). */
export interface ReportWindow {
  by: 'start' | 'end';
  fromMs: number;
  toMs: number;
}

/** `end_time 2026-01-01T00:00:00Z..2026-01-01T01:00:00Z`: how windows are named in logs and errors. */
export function describeWindow(w: ReportWindow): string {
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return `${w.by}_time ${iso(w.fromMs)}..${iso(w.toMs)}`;
}

/** A recording file of a session, as its report names it. */
export interface RecordingFile {
  lsid: string;
  /** Absent for the session recording; the `instance` of a command shell recording. */
  instance?: number;
  /** The download URL the report carries: it names the node (an Atlas traffic node) the file lives on. */
  url: string | null;
}

/** A recording file's name under the recordings directory, without extension: `<lsid>` or `<lsid>.shell-<instance>`. */
export function recordingName(file: Pick<RecordingFile, 'lsid' | 'instance'>): string {
  return file.instance === undefined ? file.lsid : `${file.lsid}.shell-${file.instance}`;
}

/**
 * Where the worker reads sessions from: one site's Reporting API. Implemented by ReportClient.
 * Contract: `listing` returns the whole listing of a window (the worker keeps windows small);
 * `sessions` returns the full sessions of the given lsids (unknown lsids are simply absent);
 * every failure is a ServiceError naming the report and `context`. Given `rejected`, a session
 * element that fails validation is left out and described there instead of failing the call.
 */
export interface ReportSource {
  listing(window: ReportWindow, signal?: AbortSignal, rejected?: RejectedSession[]): Promise<SessionSummary[]>;
  /** `context` names the window the lsids came from, for errors. */
  sessions(
    lsids: readonly string[],
    context: string,
    signal?: AbortSignal,
    rejected?: RejectedSession[],
  ): Promise<SessionRecord[]>;
  /** A recording of a closed session, as a byte stream, and its file extension. */
  recording(file: RecordingFile, signal?: AbortSignal): Promise<{ body: Readable; extension: string }>;
  /**
   * The traffic node (its public name) `recording(file)` is fetched from, when the file's URL
   * names one; undefined when it comes from the site (or its node is known only from a redirect).
   */
  recordingNode(file: RecordingFile): string | undefined;
}

/** A site as the reporting worker sees it: without its ECM account. */
export type ReportingSite = Omit<SiteConfig, 'ecm'>;

/** Who serves a site's reports now, as the failback re-read compares it between pulls. */
export interface PrimaryView {
  /**
   * Names the node: its origin (sites with `nodes`), or the appliance behind the site URL; absent
   * when it could not be asked (then no change can be seen).
   */
  node?: string;
  /** Its failover role (Command API `check_health`); `unknown` when it could not be asked. */
  role: 'primary' | 'backup' | 'none' | 'unknown';
  /** `last_data_sync_time` (Unix ms) and `last_data_sync_status` it reported, when it did. */
  lastDataSyncAt?: number;
  lastDataSyncStatus?: string;
  /** Why the role is unknown (no Command API permission, the XML API off, ...). */
  detail?: string;
}

/** A site's Reporting API client and the means to release its connections. */
export interface SiteReportSource {
  source: ReportSource;
  /** Closes the site's HTTP agent. */
  close(): Promise<void>;
  /**
   * Resolves the primary now (with `nodes`; without, asks `check_health` through the site URL)
   * for the failback re-read. Absent: the site gets no failback re-read.
   */
  primary?(signal?: AbortSignal): Promise<PrimaryView>;
}

/** Builds the Reporting API client of one site; supplied by the composition root. */
export type ReportSourceFactory = (site: ReportingSite, reporting: ReportingConfig) => SiteReportSource;
