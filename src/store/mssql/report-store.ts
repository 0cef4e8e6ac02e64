import sql from 'mssql';
import { ServiceError } from '../../platform/errors.js';
import type { SessionRecord } from '../../reporting/session-record.js';
import {
  BGSESSIONS_TABLES,
  EVENT_CHILD_TABLES,
  SESSION,
  SESSION_CHILD_TABLES,
  SESSION_EVENT,
} from '../bgsessions-tables.js';
import { bind, bindAll, bulkTable, driverType } from './params.js';
import { withRetry, type StoreRetries } from './retry.js';
import {
  countSql,
  deleteChildrenSql,
  eventIdsSql,
  forgetMissingRecordingsSql,
  IDS_PER_STATEMENT,
  MISSING_RECORDING_SQL,
  missingRecordingsSql,
  QUARANTINE_SQL,
  QUARANTINED_SQL,
  READ_SESSION_PARTS,
  READ_SESSION_SQL,
  RECORDINGS_PER_DELETE,
  SESSIONS_PER_UPSERT,
  UPSERT_CURSOR_SQL,
  upsertSessionsSql,
} from './sql.js';
import { planBatch, sessionFromRows, type Row } from '../session-rows.js';
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

type DbRow = Record<string, unknown>;

/**
 * ReportStore on SQL Server. One transaction per batch (retried whole on deadlock or transient
 * failure): sessions upserted in chunks through a table variable under UPDLOCK+HOLDLOCK (ids of
 * existing sessions kept), children of re-read sessions deleted, event rows and every child
 * table bulk-loaded (TDS bulk copy, in the transaction), then the cursor. A fenced batch first
 * renews its leadership term in the same transaction, and writes nothing when the term is over.
 */
export class MssqlReportStore implements ReportStore {
  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly metrics: StoreMetrics,
    private readonly retry: StoreRetries,
  ) {}

  async writeSessions(
    sessions: readonly SessionRecord[],
    cursor?: CursorUpdate,
    fence?: CommitFence,
  ): Promise<WriteResult> {
    const started = process.hrtime.bigint();
    const plans = planBatch(sessions);
    try {
      const result = await withRetry('store.writeSessions', this.retry, 'store.write_failed', async () => {
        const tx = new sql.Transaction(this.pool);
        await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
        try {
          // First: the renewal locks the lease row until the commit, so no take can end the term
          // between this check and the writes.
          if (fence && !(await renewTerm(tx, fence))) throw leaderLost(fence);
          const r = await this.#write(tx, plans, cursor);
          await tx.commit();
          return r;
        } catch (e) {
          await tx.rollback().catch(() => undefined); // already rolled back by the server (e.g. deadlock victim)
          throw e;
        }
      });
      this.metrics.written(result.events, Number(process.hrtime.bigint() - started) / 1e9);
      return { inserted: result.inserted, updated: result.updated };
    } catch (e) {
      this.metrics.failed('writeSessions', (e as { code?: string }).code ?? 'internal');
      throw e;
    }
  }

  async #write(tx: sql.Transaction, plans: ReturnType<typeof planBatch>, cursor?: CursorUpdate) {
    const ids: number[] = [];
    const rewritten: number[] = [];
    for (let from = 0; from < plans.length; from += SESSIONS_PER_UPSERT) {
      const chunk = plans.slice(from, from + SESSIONS_PER_UPSERT);
      const req = new sql.Request(tx);
      chunk.forEach((p, r) => p.session.forEach((v, c) => req.input(`r${r}c${c}`, driverType(SESSION.columns[c]!), v)));
      const res = await req.query(upsertSessionsSql(chunk.length));
      const sets = res.recordsets as unknown as DbRow[][];
      const existed = new Set(sets[0]!.map((x) => Number(x.ord)));
      for (const x of sets[1]!) {
        const id = Number(x.id);
        ids[from + Number(x.ord)] = id;
        if (existed.has(Number(x.ord))) rewritten.push(id);
      }
    }
    for (const part of slices(rewritten, IDS_PER_STATEMENT))
      await idsRequest(tx, part).query(deleteChildrenSql(part.length));

    const eventRows = plans.flatMap((p, i) => p.events.map((e) => [ids[i], ...e.row]));
    if (eventRows.length > 0)
      await new sql.Request(tx).bulk(bulkTable(SESSION_EVENT, eventRows), {
        keepNulls: true,
        checkConstraints: true,
        fireTriggers: true,
      });
    const eventIds = new Map<string, number>();
    for (const part of slices(ids, IDS_PER_STATEMENT)) {
      const res = await idsRequest(tx, part).query<DbRow>(eventIdsSql(part.length));
      for (const r of res.recordset) eventIds.set(`${r.session_id}:${r.seq}`, Number(r.id));
    }
    for (const table of EVENT_CHILD_TABLES) {
      const rows = plans.flatMap((p, i) =>
        p.events.flatMap((e) =>
          (e.children.get(table) ?? []).map((row): Row => [eventIds.get(`${ids[i]}:${e.seq}`), ...row]),
        ),
      );
      if (rows.length > 0)
        await new sql.Request(tx).bulk(bulkTable(table, rows), {
          keepNulls: true,
          checkConstraints: true,
          fireTriggers: true,
        });
    }
    for (const table of SESSION_CHILD_TABLES) {
      const rows = plans.flatMap((p, i) => (p.children.get(table) ?? []).map((row): Row => [ids[i], ...row]));
      if (rows.length > 0)
        await new sql.Request(tx).bulk(bulkTable(table, rows), {
          keepNulls: true,
          checkConstraints: true,
          fireTriggers: true,
        });
    }
    if (cursor) {
      const req = new sql.Request(tx);
      bind(bind(req, 'cursor_key', cursor.key), 'value', cursor.value);
      await req.query(UPSERT_CURSOR_SQL);
    }
    return { inserted: ids.length - rewritten.length, updated: rewritten.length, events: eventRows.length };
  }

  /** Reads the session and its children in one SERIALIZABLE transaction (READ_SESSION_SQL). */
  async readSession(hostName: string, lsid: string): Promise<SessionRecord | undefined> {
    try {
      // A read: retried whole after a deadlock, a lock timeout or a serialization failure.
      const res = await withRetry('store.readSession', this.retry, 'store.unavailable', () =>
        this.pool
          .request()
          .input('host', sql.NVarChar(255), hostName)
          .input('lsid', sql.NVarChar(64), lsid)
          .query(READ_SESSION_SQL),
      );
      const [sessions, ...parts] = res.recordsets as unknown as DbRow[][];
      const session = sessions?.[0];
      if (!session) return undefined;
      const children = Object.fromEntries(READ_SESSION_PARTS.map((p, i) => [p.table, parts[i] ?? []]));
      const { session_event: events, ...rest } = children;
      return sessionFromRows({
        session,
        events: events!,
        children: rest as Parameters<typeof sessionFromRows>[0]['children'],
      });
    } catch (e) {
      throw new ServiceError(
        'store.unavailable',
        `reading session ${hostName}/${lsid} failed: ${(e as Error).message}`,
        { op: 'store.readSession', cause: e },
      );
    }
  }

  async tableCounts(): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of BGSESSIONS_TABLES)
      counts[t.name] = Number((await this.pool.request().query<{ n: number }>(countSql(t.name))).recordset[0]!.n);
    return counts;
  }

  /** One transaction (retried whole), one statement per entry: refused sessions are few. */
  async quarantine(entries: readonly QuarantineEntry[], at: Date): Promise<QuarantineEntry[]> {
    if (entries.length === 0) return [];
    return withRetry('store.quarantine', this.retry, 'store.write_failed', async () => {
      const tx = new sql.Transaction(this.pool);
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      try {
        const fresh: QuarantineEntry[] = [];
        for (const e of entries) {
          const req = bindAll(new sql.Request(tx), {
            site: e.site,
            lsid_key: e.lsidKey,
            lsid: e.lsid,
            reason: e.reason,
            detail: e.detail,
            window: e.window,
            at,
          });
          const res = await req.query<{ fresh: number }>(QUARANTINE_SQL);
          if (Number(res.recordset[0]?.fresh) === 1) fresh.push(e);
        }
        await tx.commit();
        return fresh;
      } catch (e) {
        await tx.rollback().catch(() => undefined);
        throw e;
      }
    });
  }

  async quarantined(limit: number): Promise<{ total: number; entries: QuarantinedSession[] }> {
    const res = await withRetry('store.quarantined', this.retry, 'store.unavailable', () =>
      this.pool.request().input('limit', sql.Int, limit).query(QUARANTINED_SQL),
    );
    const [rows, count] = res.recordsets as unknown as DbRow[][];
    return { total: Number(count![0]!.n), entries: rows!.map(quarantinedFromRow) };
  }

  /** One transaction (retried whole), one statement per entry: owed files come a batch at a time. */
  async noteMissingRecordings(entries: readonly MissingRecording[]): Promise<void> {
    if (entries.length === 0) return;
    await withRetry('store.missing_recordings', this.retry, 'store.write_failed', async () => {
      const tx = new sql.Transaction(this.pool);
      await tx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
      try {
        for (const e of entries) {
          const values = missingRecordingValues(e);
          const req = bindAll(
            new sql.Request(tx),
            Object.fromEntries(MISSING_RECORDING_COLUMNS.map((c, k) => [c, values[k]])),
          );
          await req.query(MISSING_RECORDING_SQL);
        }
        await tx.commit();
      } catch (e) {
        await tx.rollback().catch(() => undefined);
        throw e;
      }
    });
  }

  async forgetMissingRecordings(site: string, recordings: readonly string[]): Promise<void> {
    for (let k = 0; k < recordings.length; k += RECORDINGS_PER_DELETE) {
      const chunk = recordings.slice(k, k + RECORDINGS_PER_DELETE);
      const values = Object.fromEntries(chunk.map((r, n) => [`r${n}`, r]));
      await withRetry('store.missing_recordings', this.retry, 'store.write_failed', () =>
        bindAll(this.pool.request(), { site, ...values }).query(forgetMissingRecordingsSql(chunk.length)),
      );
    }
  }

  async missingRecordings(q: MissingRecordingQuery): Promise<{ total: number; entries: MissingRecording[] }> {
    const res = await withRetry('store.missing_recordings', this.retry, 'store.unavailable', () =>
      bindAll(this.pool.request().input('limit', sql.Int, q.limit), {
        ...(q.site === undefined ? {} : { site: q.site }),
        ...(q.dueBy === undefined ? {} : { due: q.dueBy }),
      }).query(missingRecordingsSql({ site: q.site !== undefined, due: q.dueBy !== undefined })),
    );
    const [rows, count] = res.recordsets as unknown as DbRow[][];
    return { total: Number(count![0]!.n), entries: rows!.map(missingRecordingFromRow) };
  }
}

function idsRequest(tx: sql.Transaction, ids: number[]): sql.Request {
  const req = new sql.Request(tx);
  ids.forEach((id, i) => req.input(`id${i}`, sql.BigInt, id));
  return req;
}

function slices<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
