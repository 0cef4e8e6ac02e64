import type { MissingRecording } from '../reporting/report-store-port.js';

/** The columns of ecm_bridge.missing_recording, in the order both adapters insert them. */
export const MISSING_RECORDING_COLUMNS = [
  'site',
  'recording',
  'lsid',
  'instance',
  'download_url',
  'node',
  'attempts',
  'last_code',
  'last_error',
  'first_failed_at',
  'last_tried_at',
  'next_try_at',
] as const;

/** An owed file as a row's values, in MISSING_RECORDING_COLUMNS order. */
export function missingRecordingValues(e: MissingRecording): unknown[] {
  return [
    e.site,
    e.recording,
    e.lsid,
    e.instance,
    e.url,
    e.node,
    e.attempts,
    e.lastCode,
    e.lastError,
    e.firstFailedAt,
    e.lastTriedAt,
    e.nextTryAt,
  ];
}

/** A row of ecm_bridge.missing_recording (either dialect) as the port's MissingRecording. */
export function missingRecordingFromRow(r: Record<string, unknown>): MissingRecording {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    site: String(r.site),
    recording: String(r.recording),
    lsid: String(r.lsid),
    instance: r.instance === null || r.instance === undefined ? null : Number(r.instance),
    url: text(r.download_url),
    node: text(r.node),
    attempts: Number(r.attempts),
    lastCode: String(r.last_code),
    lastError: String(r.last_error),
    firstFailedAt: new Date(r.first_failed_at as Date),
    lastTriedAt: new Date(r.last_tried_at as Date),
    nextTryAt: new Date(r.next_try_at as Date),
  };
}
