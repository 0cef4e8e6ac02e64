import type { PGlite } from '@electric-sql/pglite';
import { isServiceError, ServiceError } from '../../platform/errors.js';
import type { SessionRecord } from '../../reporting/session-record.js';
import { BGSESSIONS_TABLES } from '../bgsessions-tables.js';
import { loadBatch } from './batch-load.js';
import { lastOccurrences, sessionFromRows } from '../session-rows.js';
import type { StoreMetrics } from '../store-metrics.js';
import { leaderLost } from '../leader-lost.js';
import { renewTerm } from './leader-leases.js';
import type {
  CommitFence,
  CursorUpdate,
  MissingRecording,
  MissingRecordingQuery,
  QuarantinedSession,
  QuarantineEntry,
  ReportStore,
  WriteResult,
} from '../../reporting/report-store-port.js';
import { quarantinedFromRow } from '../quarantine-rows.js';
import {
  MISSING_RECORDING_COLUMNS,
  missingRecordingFromRow,
  missingRecordingValues,
} from '../missing-recording-rows.js';

/** An owed file: inserted, or replacing the row it updates, keeping the earliest first failure. */
const MISSING_SQL = `INSERT INTO ecm_bridge.missing_recording (${MISSING_RECORDING_COLUMNS.join(', ')})
  VALUES (${MISSING_RECORDING_COLUMNS.map((_, k) => `$${k + 1}`).join(', ')})
  ON CONFLICT (site, recording) DO UPDATE SET ${MISSING_RECORDING_COLUMNS.slice(2)
    .map((c) =>
      c === 'first_failed_at'
        ? `${c} = LEAST(ecm_bridge.missing_recording.${c}, EXCLUDED.${c})`
        : `${c} = EXCLUDED.${c}`,
    )
    .join(', ')}`;

/** `fresh`: the row was inserted now, not updated (xmax is 0 only on a tuple no one updated). */
const QUARANTINE_SQL = `INSERT INTO ecm_bridge.quarantined_session
  (site, lsid_key, lsid, reason, detail, report_window, first_seen_at, last_seen_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
  ON CONFLICT (site, lsid_key) DO UPDATE SET lsid = EXCLUDED.lsid, reason = EXCLUDED.reason,
    detail = EXCLUDED.detail, report_window = EXCLUDED.report_window, last_seen_at = EXCLUDED.last_seen_at
  RETURNING (xmax = 0) AS fresh`;

/**
 * ReportStore on PGlite. A batch is one transaction: its sessions are loaded by loadBatch (COPY
 * with ids reserved beforehand; sessions that exist keep their ids, see batch-load.ts),
 * then the cursor is set. A fenced batch first renews its leadership term, in the same transaction.
 */
export class PgliteReportStore implements ReportStore {
  constructor(
    private readonly db: PGlite,
    private readonly metrics: StoreMetrics,
  ) {}

  async writeSessions(
    sessions: readonly SessionRecord[],
    cursor?: CursorUpdate,
    fence?: CommitFence,
  ): Promise<WriteResult> {
    const started = process.hrtime.bigint();
    const batch = lastOccurrences(sessions);
    try {
      const result = await this.db.transaction(async (tx) => {
        if (fence && !(await renewTerm(tx, fence))) throw leaderLost(fence);
        const loaded = await loadBatch(tx, batch);
        if (cursor) {
          await tx.query(
            `INSERT INTO ecm_bridge.report_cursor (cursor_key, value, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (cursor_key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
            [cursor.key, cursor.value],
          );
        }
        return loaded;
      });
      this.metrics.written(result.events, Number(process.hrtime.bigint() - started) / 1e9);
      return { inserted: result.inserted, updated: result.updated };
    } catch (e) {
      const err = isServiceError(e)
        ? e
        : new ServiceError(
            'store.write_failed',
            `writing ${batch.length} session(s) failed (${(e as Error).message}); the transaction was rolled back and the cursor did not move`,
            { op: 'store.writeSessions', cause: e },
          );
      this.metrics.failed('writeSessions', err.code);
      throw err;
    }
  }

  /** Reads in one transaction, so a batch committing meanwhile is seen entirely or not at all. */
  async readSession(hostName: string, lsid: string): Promise<SessionRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const session = (
        await tx.query<Record<string, unknown>>('SELECT * FROM session WHERE host_name = $1 AND lsid = $2', [
          hostName,
          lsid,
        ])
      ).rows[0];
      if (!session) return undefined;
      const byEvent = (table: string, order: string) =>
        tx
          .query<Record<string, unknown>>(
            `SELECT c.* FROM ${table} c JOIN session_event e ON e.id = c.session_event_id WHERE e.session_id = $1 ORDER BY c.session_event_id, c.${order}`,
            [session.id],
          )
          .then((r) => r.rows);
      const bySession = (table: string, order: string) =>
        tx
          .query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE session_id = $1 ORDER BY ${order}`, [
            session.id,
          ])
          .then((r) => r.rows);
      return sessionFromRows({
        session,
        events: await bySession('session_event', 'seq'),
        children: {
          session_event_file: await byEvent('session_event_file', 'file_index'),
          session_event_data: await byEvent('session_event_data', 'seq'),
          system_information: await byEvent('system_information', 'seq'),
          customer: await bySession('customer', 'gsnumber'),
          representative: await bySession('representative', 'gsnumber'),
          team: await bySession('team', 'seq'),
          custom_attribute: await bySession('custom_attribute', 'seq'),
          command_shell_recording: await bySession('command_shell_recording', 'seq'),
        },
      });
    });
  }

  async tableCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of BGSESSIONS_TABLES) {
      counts[t.name] = (await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.name}`)).rows[0]!.n;
    }
    return counts;
  }

  async quarantine(entries: readonly QuarantineEntry[], at: Date): Promise<QuarantineEntry[]> {
    if (entries.length === 0) return [];
    try {
      return await this.db.transaction(async (tx) => {
        const fresh: QuarantineEntry[] = [];
        for (const e of entries) {
          const r = await tx.query<{ fresh: boolean }>(QUARANTINE_SQL, [
            e.site,
            e.lsidKey,
            e.lsid,
            e.reason,
            e.detail,
            e.window,
            at,
          ]);
          if (r.rows[0]?.fresh) fresh.push(e);
        }
        return fresh;
      });
    } catch (e) {
      throw new ServiceError(
        'store.write_failed',
        `quarantining ${entries.length} refused session(s) failed (${(e as Error).message}); the cursor did not move`,
        { op: 'store.quarantine', cause: e },
      );
    }
  }

  async quarantined(limit: number): Promise<{ total: number; entries: QuarantinedSession[] }> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT * FROM ecm_bridge.quarantined_session ORDER BY last_seen_at DESC, site, lsid_key LIMIT $1`,
      [limit],
    );
    const count = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM ecm_bridge.quarantined_session');
    return { total: count.rows[0]!.n, entries: rows.rows.map(quarantinedFromRow) };
  }

  async noteMissingRecordings(entries: readonly MissingRecording[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.db.transaction(async (tx) => {
        for (const e of entries) await tx.query(MISSING_SQL, missingRecordingValues(e));
      });
    } catch (e) {
      throw new ServiceError(
        'store.write_failed',
        `recording ${entries.length} missing recording file(s) failed (${(e as Error).message})`,
        { op: 'store.missing_recordings', cause: e },
      );
    }
  }

  async forgetMissingRecordings(site: string, recordings: readonly string[]): Promise<void> {
    if (recordings.length === 0) return;
    try {
      await this.db.query('DELETE FROM ecm_bridge.missing_recording WHERE site = $1 AND recording = ANY($2)', [
        site,
        [...recordings],
      ]);
    } catch (e) {
      throw new ServiceError(
        'store.write_failed',
        `forgetting ${recordings.length} owed recording file(s) of site ${site} failed (${(e as Error).message})`,
        { op: 'store.missing_recordings', cause: e },
      );
    }
  }

  async missingRecordings(q: MissingRecordingQuery): Promise<{ total: number; entries: MissingRecording[] }> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT * FROM ecm_bridge.missing_recording
        WHERE ($1::text IS NULL OR site = $1) AND ($2::timestamptz IS NULL OR next_try_at <= $2)
        ORDER BY next_try_at, site, recording LIMIT $3`,
      [q.site ?? null, q.dueBy ?? null, q.limit],
    );
    const count = await this.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM ecm_bridge.missing_recording WHERE ($1::text IS NULL OR site = $1)',
      [q.site ?? null],
    );
    return { total: count.rows[0]!.n, entries: rows.rows.map(missingRecordingFromRow) };
  }
}
