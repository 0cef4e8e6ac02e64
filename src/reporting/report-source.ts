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

/** A site's Reporting API client and the means to release its connections. */
export interface SiteReportSource {
  source: ReportSource;
  /** Closes the site's HTTP agent. */
  close(): Promise<void>;
  /**
   * Only for sites with failover `nodes`: resolves the primary now and returns its origin and the
   * `last_data_sync_time` it reported (absent when its role is unknown), for the failback re-read.
   */
  primary?(signal?: AbortSignal): Promise<{ origin: string; lastDataSyncAt?: number }>;
}

/** Builds the Reporting API client of one site; supplied by the composition root. */
export type ReportSourceFactory = (site: ReportingSite, reporting: ReportingConfig) => SiteReportSource;
