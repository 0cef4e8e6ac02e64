import type { Logger } from 'pino';
import { isServiceError } from '../platform/errors.js';
import { Counter, metric, type Registry } from '../platform/metrics.js';
import type { RecordingDirectory } from './recording-directory.js';
import { recordingName, type RecordingFile, type ReportSource } from './report-source.js';
import type { SessionRecord } from './session-record.js';

export interface SaveRecordingsDeps {
  recordings: RecordingDirectory;
  source: ReportSource;
  log: Logger;
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

/**
 * Downloads the files of `sessions` not stored yet, before their batch commits. A file that
 * cannot be fetched (a refused host, a node down after retries, an `<error>` answer) is logged
 * and counted, and its session is still written: losing the session row over a file would hide
 * the session from BeyondInsight, and stopping the pull would hold the whole site on one node.
 * The file is tried again whenever its session is re-read (the overlap, a failback re-read, a
 * backfill). Only a failure to write locally, or shutdown, stops the pull (it concerns every file).
 */
export async function saveRecordings(
  deps: SaveRecordingsDeps,
  site: string,
  files: readonly RecordingFile[],
  signal?: AbortSignal,
): Promise<void> {
  if (files.length === 0) return;
  const stored = await deps.recordings.stored(site);
  const outcomes = deps.metrics ? recordingCounter(deps.metrics) : undefined;
  for (const file of files) {
    if (stored.has(recordingName(file))) continue;
    try {
      await deps.recordings.save(site, file, deps.source, signal);
      outcomes?.inc({ site, outcome: 'saved' });
    } catch (e) {
      if (signal?.aborted || isServiceError(e, 'store.write_failed') || !isServiceError(e)) throw e;
      outcomes?.inc({ site, outcome: e.code === 'report.recording_host_refused' ? 'refused' : 'failed' });
      deps.log.warn(
        { site, lsid: file.lsid, instance: file.instance, code: e.code, err: e },
        'reporting: recording not fetched; the session is stored and the file is tried again when the session is re-read',
      );
    }
  }
}

function recordingCounter(registry: Registry): Counter<'site' | 'outcome'> {
  return metric(
    registry,
    'ecm_bridge_reporting_recordings_total',
    () =>
      new Counter({
        name: 'ecm_bridge_reporting_recordings_total',
        help: 'Recording files by site and outcome (saved; failed: not fetched; refused: URL outside the cluster)',
        labelNames: ['site', 'outcome'] as const,
        registers: [registry],
      }),
  );
}
