import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { isServiceError, type ServiceError } from '../platform/errors.js';
import { Counter, Gauge, metric, type Registry } from '../platform/metrics.js';
import type { RecordingDirectory } from './recording-directory.js';
import { recordingName, type RecordingFile, type ReportSource } from './report-source.js';
import type { MissingRecording, ReportStore } from './report-store-port.js';
import type { SessionRecord } from './session-record.js';

export interface RecordingPassDeps {
  recordings: RecordingDirectory;
  source: ReportSource;
  /** Where owed files are kept (the missing-recordings list). */
  reports: Pick<ReportStore, 'noteMissingRecordings' | 'forgetMissingRecordings' | 'missingRecordings'>;
  log: Logger;
  clock: Clock;
  /** An owed file is given up this long after its first failure (reporting.recordings.retryForHours). */
  retryForHours: number;
  metrics?: Registry;
}

/**
 * The recording files of closed sessions: the session recording when the listing says it has one,
 * and every command shell recording whose report carries a download URL (instance, or the
 * position in the list when the report gives none).
 */
export function recordingFiles(sessions: readonly SessionRecord[], hasRecording: (lsid: string) => boolean) {
  const files: RecordingFile[] = [];
  for (const s of sessions) {
    if (s.endTime === null) continue;
    if (hasRecording(s.lsid)) files.push({ lsid: s.lsid, url: s.recordingDownloadUrl });
    s.shellRecordings.forEach((r, k) => {
      if (r.downloadUrl !== null) files.push({ lsid: s.lsid, instance: r.instance ?? k, url: r.downloadUrl });
    });
  }
  return files;
}

/** The first retry waits this long after a failure; each further one twice as long, up to the cap. */
const RETRY_BASE_MS = 5 * 60_000;
const RETRY_CAP_MS = 6 * 3_600_000;

/** When an owed file is tried next after its `attempts`-th failure (no jitter: one leader retries). */
function nextRetryDelay(attempts: number): number {
  return Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.min(Math.max(attempts - 1, 0), 20));
}

/** Owed files loaded per pull to retry: the rest wait for the next pull (the list is soonest due first). */
const OWED_RETRIES_PER_PULL = 200;

/** Owed entries whose attempt count a pass reads back, so a re-read session's file keeps its backoff. */
const OWED_KNOWN_MAX = 10_000;

/** A failure of a whole node (it did not answer, or its TLS failed): its other files are not tried in this pull. */
function nodeDown(e: ServiceError): boolean {
  return (e.code === 'appliance.unavailable' || e.code === 'appliance.tls') && e.op === 'report.fetch';
}

const bounded = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/**
 * One pull's recording downloads for one site (a worker run, or a backfill). Files are fetched
 * before their batch commits. A file that cannot be fetched (a node down after retries, a refused
 * host, an `<error>` answer, a download that broke off) does not stop the pull: its session is
 * still written (losing the row over a file would hide the session from BeyondInsight) and the
 * file is owed: kept in the store's missing-recordings list and retried with backoff
 * (`retryOwed`) until fetched or older than `retryForHours`. A traffic node that fails as a
 * whole is named once per pull (`finish`): its other files are owed without being tried again in
 * this pull. Only a failure to write locally, or shutdown, stops the pull (it concerns every file).
 */
export class RecordingPass {
  readonly #outcomes: Counter<'site' | 'outcome'> | undefined;
  readonly #retries: Counter<'site' | 'outcome'> | undefined;
  readonly #missing: Gauge<'site'> | undefined;
  /** Traffic nodes down in this pull: the first failure, and how many files were owed because of it. */
  readonly #down = new Map<string, { error: ServiceError; owed: number }>();
  #stored: Set<string> | undefined;
  /** What the site owed when the pass started, by recording name (bounded; see OWED_KNOWN_MAX). */
  #known: Map<string, MissingRecording> | undefined;
  #owedAtStart = 0;

  constructor(
    private readonly deps: RecordingPassDeps,
    private readonly site: string,
    private readonly signal?: AbortSignal,
  ) {
    this.#outcomes = deps.metrics && recordingCounter(deps.metrics);
    this.#retries = deps.metrics && retryCounter(deps.metrics);
    this.#missing = deps.metrics && missingGauge(deps.metrics);
  }

  /** Downloads the files not stored yet (of a batch about to commit); the ones that fail are owed. */
  async fetch(files: readonly RecordingFile[]): Promise<void> {
    if (files.length === 0) return;
    await this.#start();
    const owed: MissingRecording[] = [];
    const settled: string[] = [];
    for (const file of files) {
      const name = recordingName(file);
      const prior = this.#known!.get(name);
      // On disk already (or, owed before, fetched now or abandoned): no longer owed.
      const outcome = this.#stored!.has(name) ? 'saved' : await this.#try(file, prior);
      if (outcome === 'saved' || outcome === undefined) {
        if (prior) settled.push(name);
      } else owed.push(outcome);
    }
    await this.deps.reports.noteMissingRecordings(owed);
    await this.deps.reports.forgetMissingRecordings(this.site, settled);
  }

  /**
   * Retries the owed files that are due (at most OWED_RETRIES_PER_PULL, soonest due first).
   * One owed longer than `retryForHours` is given up (forgotten, counted as expired, logged).
   */
  async retryOwed(): Promise<void> {
    await this.#start();
    if (this.#owedAtStart === 0) return;
    const now = this.deps.clock.now();
    const { entries } = await this.deps.reports.missingRecordings({
      site: this.site,
      dueBy: new Date(now),
      limit: OWED_RETRIES_PER_PULL,
    });
    const expireBefore = now - this.deps.retryForHours * 3_600_000;
    const expired = entries.filter((e) => e.firstFailedAt.getTime() <= expireBefore);
    const owed: MissingRecording[] = [];
    const settled = expired.map((e) => e.recording);
    for (const entry of entries) {
      if (expired.includes(entry)) continue;
      this.signal?.throwIfAborted();
      const file: RecordingFile = {
        lsid: entry.lsid,
        url: entry.url,
        ...(entry.instance === null ? {} : { instance: entry.instance }),
      };
      if (this.#stored!.has(entry.recording)) {
        settled.push(entry.recording);
        continue;
      }
      const outcome = await this.#try(file, entry);
      this.#retries?.inc({ site: this.site, outcome: outcome === 'saved' ? 'fetched' : 'failed' });
      if (outcome === 'saved' || outcome === undefined) settled.push(entry.recording);
      else owed.push(outcome);
    }
    await this.deps.reports.noteMissingRecordings(owed);
    await this.deps.reports.forgetMissingRecordings(this.site, settled);
    if (expired.length > 0) {
      this.#retries?.inc({ site: this.site, outcome: 'expired' }, expired.length);
      this.deps.log.warn(
        {
          site: this.site,
          expired: expired.length,
          recordings: expired.slice(0, 20).map((e) => e.recording),
          lastCodes: [...new Set(expired.map((e) => e.lastCode))],
          retryForHours: this.deps.retryForHours,
        },
        'reporting: recording files owed longer than reporting.recordings.retryForHours are given up; their sessions stay stored without them',
      );
    }
  }

  /**
   * Ends the pass: one log line per traffic node that failed as a whole, and the site's owed
   * count on the gauge. Never throws: the pull's outcome is already decided.
   */
  async finish(): Promise<void> {
    for (const [node, { error, owed }] of this.#down)
      this.deps.log.warn(
        { site: this.site, node, owed, code: error.code, reason: error.message },
        `reporting: traffic node ${node} could not be reached in this pull; ${owed} recording file(s) owed, tried again with backoff (the sessions are stored)`,
      );
    if (!this.#missing) return;
    try {
      const { total } = await this.deps.reports.missingRecordings({ site: this.site, limit: 0 });
      this.#missing.set({ site: this.site }, total);
    } catch (e) {
      this.deps.log.warn({ site: this.site, err: e }, 'reporting: could not count the owed recording files');
    }
  }

  async #start(): Promise<void> {
    if (this.#stored) return;
    this.#stored = await this.deps.recordings.stored(this.site);
    const { total, entries } = await this.deps.reports.missingRecordings({ site: this.site, limit: OWED_KNOWN_MAX });
    this.#owedAtStart = total;
    this.#known = new Map(entries.map((e) => [e.recording, e]));
  }

  /**
   * One download: 'saved', the owed entry to keep when it failed, or undefined when it failed in
   * a way no retry mends (over the size or time limits: abandoned, as before).
   */
  async #try(
    file: RecordingFile,
    prior: MissingRecording | undefined,
  ): Promise<'saved' | MissingRecording | undefined> {
    const name = recordingName(file);
    const node = this.deps.source.recordingNode(file);
    const down = node === undefined ? undefined : this.#down.get(node);
    if (down) {
      down.owed++;
      return this.#owe(file, name, node ?? null, prior, down.error);
    }
    try {
      await this.deps.recordings.save(this.site, file, this.deps.source, this.signal);
      this.#stored!.add(name);
      this.#outcomes?.inc({ site: this.site, outcome: 'saved' });
      return 'saved';
    } catch (e) {
      if (this.signal?.aborted || isServiceError(e, 'store.write_failed') || !isServiceError(e)) throw e;
      this.#outcomes?.inc({
        site: this.site,
        outcome: e.code === 'report.recording_host_refused' ? 'refused' : 'failed',
      });
      if (e.code === 'report.recording_limit') {
        this.deps.log.warn(
          { site: this.site, lsid: file.lsid, instance: file.instance, code: e.code, err: e },
          e.message,
        );
        return undefined;
      }
      // The node failed as a whole: named once for the pull. One known only from a redirect
      // (the error names it) cannot be skipped beforehand, but is not named again per file.
      const failed = node ?? (typeof e.details?.node === 'string' ? e.details.node : undefined);
      if (failed !== undefined && nodeDown(e)) {
        const seen = this.#down.get(failed);
        if (seen) seen.owed++;
        else this.#down.set(failed, { error: e, owed: 1 });
        return this.#owe(file, name, failed, prior, e);
      }
      this.deps.log.warn(
        { site: this.site, lsid: file.lsid, instance: file.instance, code: e.code, err: e },
        'reporting: recording not fetched; the session is stored and the file is owed (tried again with backoff)',
      );
      return this.#owe(file, name, node ?? null, prior, e);
    }
  }

  #owe(
    file: RecordingFile,
    name: string,
    node: string | null,
    prior: MissingRecording | undefined,
    e: ServiceError,
  ): MissingRecording {
    const now = this.deps.clock.now();
    const attempts = (prior?.attempts ?? 0) + 1;
    return {
      site: this.site,
      recording: name,
      lsid: file.lsid,
      instance: file.instance ?? null,
      url: file.url,
      node: node === null ? null : bounded(node, 300),
      attempts,
      lastCode: e.code,
      lastError: bounded(e.message, 300),
      firstFailedAt: prior?.firstFailedAt ?? new Date(now),
      lastTriedAt: new Date(now),
      nextTryAt: new Date(now + nextRetryDelay(attempts)),
    };
  }
}

function recordingCounter(registry: Registry): Counter<'site' | 'outcome'> {
  return metric(
    registry,
    'ecm_bridge_reporting_recordings_total',
    () =>
      new Counter({
        name: 'ecm_bridge_reporting_recordings_total',
        help: 'Recording download attempts by site and outcome (saved; failed: not fetched, owed; refused: URL outside the cluster, owed)',
        labelNames: ['site', 'outcome'] as const,
        registers: [registry],
      }),
  );
}

function retryCounter(registry: Registry): Counter<'site' | 'outcome'> {
  return metric(
    registry,
    'ecm_bridge_reporting_recording_retries_total',
    () =>
      new Counter({
        name: 'ecm_bridge_reporting_recording_retries_total',
        help: 'Owed recording files retried, by site and outcome (fetched; failed: still owed; expired: given up after reporting.recordings.retryForHours)',
        labelNames: ['site', 'outcome'] as const,
        registers: [registry],
      }),
  );
}

function missingGauge(registry: Registry): Gauge<'site'> {
  return metric(
    registry,
    'ecm_bridge_reporting_recordings_missing',
    () =>
      new Gauge({
        name: 'ecm_bridge_reporting_recordings_missing',
        help: 'Recording files owed by site: not fetched yet, retried with backoff until fetched or expired',
        labelNames: ['site'] as const,
        registers: [registry],
      }),
  );
}
