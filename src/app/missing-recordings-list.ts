import type { Logger } from 'pino';
import type { MissingRecordingView } from '../http/status-view.js';
import type { ReportStore } from '../reporting/report-store-port.js';
import type { Config } from './config-schema.js';
import { readFromStore } from './quarantine-list.js';

/** The recording files owed as the status page and `report recordings` show them (times as ISO text). */
export interface MissingRecordingList {
  total: number;
  shown: MissingRecordingView[];
}

/** The `limit` owed files due soonest, and how many there are (every site). */
export async function listMissingRecordings(reports: ReportStore, limit: number): Promise<MissingRecordingList> {
  const { total, entries } = await reports.missingRecordings({ limit });
  return {
    total,
    // Never the download URL: its query may carry a one-time key.
    shown: entries.map((e) => ({
      site: e.site,
      recording: e.recording,
      node: e.node,
      attempts: e.attempts,
      lastCode: e.lastCode,
      lastError: e.lastError,
      firstFailedAt: e.firstFailedAt.toISOString(),
      nextTryAt: e.nextTryAt.toISOString(),
    })),
  };
}

/** `report recordings` without a running bridge holding the store (see readFromStore). */
export function readMissingRecordings(config: Config, log: Logger, limit: number): Promise<MissingRecordingList> {
  return readFromStore(config, log, (reports) => listMissingRecordings(reports, limit));
}
