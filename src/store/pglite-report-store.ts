import type { PGlite, Transaction } from '@electric-sql/pglite';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { SessionRecord } from '../reporting/session-record.js';
import {
  BGSESSIONS_TABLES,
  EVENT_CHILD_TABLES,
  SESSION,
  SESSION_CHILD_TABLES,
  SESSION_EVENT,
  type Table,
} from './bgsessions-tables.js';
import { copyRows } from './pglite-copy.js';
import { planBatch, sessionFromRows, type Row } from './session-rows.js';
import type { StoreMetrics } from './store-metrics.js';
import type { CursorUpdate, ReportStore, WriteResult } from '../reporting/report-store-port.js';

type Queryable = Pick<Transaction, 'query'>;

/** Postgres accepts 65,535 bind parameters per statement; stay well below. */
const MAX_PARAMS = 30_000;

/**
 * ReportStore on PGlite. A batch is one transaction: sessions are upserted on (host_name, lsid)
 * with multi-row INSERT ... ON CONFLICT (an existing session keeps its id), the children of
 * re-read sessions are deleted, event rows and every child table are loaded with one COPY per
 * table (the fastest path into Postgres; one statement per row is what made PGlite slow), and
 * the cursor is set last.
 */
export class PgliteReportStore implements ReportStore {
  constructor(
    private readonly db: PGlite,
    private readonly metrics: StoreMetrics,
  ) {}

  async writeSessions(sessions: readonly SessionRecord[], cursor?: CursorUpdate): Promise<WriteResult> {
    const started = process.hrtime.bigint();
    const plans = planBatch(sessions);
    try {
      const result = await this.db.transaction(async (tx) => {
        const byKey = await upsertSessions(
          tx,
          plans.map((p) => p.session),
        );
        const ids = plans.map((p) => byKey.get(`${p.hostName}\u0000${p.lsid}`)!);
        const sessionId = (i: number) => ids[i]!.id;
        const rewritten = ids.filter((x) => !x.inserted).map((x) => x.id);
        if (rewritten.length > 0) await deleteChildren(tx, rewritten);

        const eventRows = plans.flatMap((p, i) => p.events.map((e) => [sessionId(i), ...e.row]));
        await copyRows(tx, SESSION_EVENT, eventRows);
        // Event k of the batch (in row order) got id firstEventId + k.
        const firstEventId = await copiedEventIds(tx, eventRows);
        for (const table of EVENT_CHILD_TABLES) {
          const rows: Row[] = [];
          let id = firstEventId;
          for (const p of plans)
            for (const e of p.events) {
              for (const row of e.children.get(table) ?? []) rows.push([id, ...row]);
              id++;
            }
          await copyRows(tx, table, rows);
        }
        for (const table of SESSION_CHILD_TABLES) {
          await copyRows(
            tx,
            table,
            plans.flatMap((p, i) => (p.children.get(table) ?? []).map((row) => [sessionId(i), ...row])),
          );
        }
        if (cursor) {
          await tx.query(
            `INSERT INTO ecm_bridge.report_cursor (cursor_key, value, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (cursor_key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
            [cursor.key, cursor.value],
          );
        }
        return { inserted: ids.length - rewritten.length, updated: rewritten.length, events: eventRows.length };
      });
      this.metrics.written(result.events, Number(process.hrtime.bigint() - started) / 1e9);
      return { inserted: result.inserted, updated: result.updated };
    } catch (e) {
      const err = isServiceError(e)
        ? e
        : new ServiceError(
            'store.write_failed',
            `writing ${plans.length} session(s) failed (${(e as Error).message}); the transaction was rolled back and the cursor did not move`,
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
}

/**
 * The id COPY gave the first of the event rows; the others follow in row order, without reading
 * 50,000 rows back. PGlite has one connection and this transaction holds it, so the identity
 * values of a COPY are consecutive, in row order, ending at currval. That is checked (first and
 * last row, count in the range); if it ever did not hold, the batch fails rather than attach
 * children to guesses.
 */
async function copiedEventIds(tx: Queryable, rows: Row[]): Promise<number> {
  if (rows.length === 0) return 0;
  const last = Number(
    (await tx.query<{ id: string }>(`SELECT currval(pg_get_serial_sequence('session_event', 'id'))::text AS id`))
      .rows[0]!.id,
  );
  const first = last - rows.length + 1;
  const check = (
    await tx.query<{ n: number; ok: boolean }>(
      `SELECT count(*)::int AS n,
       bool_and((id = $1 AND session_id = $3 AND seq = $4) OR (id = $2 AND session_id = $5 AND seq = $6) OR id NOT IN ($1, $2)) AS ok
     FROM session_event WHERE id BETWEEN $1 AND $2`,
      [first, last, rows[0]![0], rows[0]![1], rows.at(-1)![0], rows.at(-1)![1]],
    )
  ).rows[0]!;
  if (check.n === rows.length && check.ok) return first;
  throw new ServiceError(
    'store.write_failed',
    `session_event ids ${first}..${last} are not the ${rows.length} rows just copied`,
    { op: 'store.writeSessions' },
  );
}

/** Upserts session rows; returns each one's id and whether it was new, keyed by host_name NUL lsid. */
async function upsertSessions(tx: Queryable, rows: Row[]): Promise<Map<string, { id: number; inserted: boolean }>> {
  const keys = new Set(['host_name', 'lsid']);
  const set = SESSION.columns
    .filter((c) => !keys.has(c.name))
    .map((c) => `${c.name} = EXCLUDED.${c.name}`)
    .join(', ');
  const out = new Map<string, { id: number; inserted: boolean }>();
  for (const chunk of chunks(rows, SESSION.columns.length)) {
    // xmax = 0 only on a freshly inserted tuple: tells inserts from updates without a second query.
    const res = await tx.query<{ id: number; host_name: string; lsid: string; inserted: boolean }>(
      `${insertSql(SESSION, chunk.length)} ON CONFLICT (host_name, lsid) DO UPDATE SET ${set} RETURNING id, host_name, lsid, (xmax = 0) AS inserted`,
      chunk.flat(),
    );
    for (const r of res.rows) out.set(`${r.host_name}\u0000${r.lsid}`, { id: Number(r.id), inserted: r.inserted });
  }
  return out;
}

async function deleteChildren(tx: Queryable, sessionIds: number[]): Promise<void> {
  for (const t of EVENT_CHILD_TABLES) {
    await tx.query(
      `DELETE FROM ${t.name} WHERE session_event_id IN (SELECT id FROM session_event WHERE session_id = ANY($1::bigint[]))`,
      [sessionIds],
    );
  }
  for (const t of [SESSION_EVENT, ...SESSION_CHILD_TABLES]) {
    await tx.query(`DELETE FROM ${t.name} WHERE session_id = ANY($1::bigint[])`, [sessionIds]);
  }
}

function* chunks(rows: Row[], width: number): Generator<Row[]> {
  const size = Math.max(1, Math.floor(MAX_PARAMS / width));
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

const sqlCache = new Map<string, string>();

/** `INSERT INTO t (cols) VALUES ($1, ...), (...)` for `n` rows; cached because batches repeat sizes. */
function insertSql(table: Table, n: number): string {
  const key = `${table.name}:${n}`;
  let sql = sqlCache.get(key);
  if (!sql) {
    const w = table.columns.length;
    const tuples = Array.from(
      { length: n },
      (_, r) => `(${table.columns.map((_c, c) => `$${r * w + c + 1}`).join(', ')})`,
    );
    sql = `INSERT INTO ${table.name} (${table.columns.map((c) => c.name).join(', ')}) VALUES ${tuples.join(', ')}`;
    if (sqlCache.size > 200) sqlCache.clear();
    sqlCache.set(key, sql);
  }
  return sql;
}
