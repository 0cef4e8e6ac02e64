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
import { CopyText } from './pglite-copy.js';
import {
  emitSession,
  HOST_NAME,
  lastOccurrences,
  LSID,
  sessionFromRows,
  storable,
  type Row,
  type RowSink,
} from './session-rows.js';
import type { StoreMetrics } from './store-metrics.js';
import type { CursorUpdate, ReportStore, WriteResult } from '../reporting/report-store-port.js';

type Queryable = Pick<Transaction, 'query'>;

/** Postgres accepts 65,535 bind parameters per statement; stay well below. */
const MAX_PARAMS = 30_000;

/**
 * ReportStore on PGlite. A batch is one transaction, loaded as close to a raw COPY as the
 * contract allows: the sessions that already exist are looked up by (host_name, lsid) (they keep
 * their id), ids for the new sessions and for every event are reserved from the tables' identity
 * sequences in one statement, and the records are then checked and encoded in one pass straight
 * into the COPY text of each table, every row with its ids. New sessions are COPYed like any
 * other table; existing ones are updated with INSERT ... ON CONFLICT and their children deleted
 * before the new children load. The cursor is set last.
 */
export class PgliteReportStore implements ReportStore {
  constructor(
    private readonly db: PGlite,
    private readonly metrics: StoreMetrics,
  ) {}

  async writeSessions(sessions: readonly SessionRecord[], cursor?: CursorUpdate): Promise<WriteResult> {
    const started = process.hrtime.bigint();
    const batch = lastOccurrences(sessions);
    try {
      const result = await this.db.transaction(async (tx) => {
        const existing = await existingSessions(tx, batch);
        const events = batch.reduce((n, s) => n + s.events.length, 0);
        const ids = await reserveIds(tx, batch.length - existing.size, events);
        const load = new BatchCopy(existing, ids);
        for (const s of batch) emitSession(s, load);
        if (load.updates.length > 0) {
          await updateSessions(tx, load.updates);
          await deleteChildren(tx, load.rewritten);
        }
        for (const text of load.texts()) await text.copy(tx);
        if (cursor) {
          await tx.query(
            `INSERT INTO ecm_bridge.report_cursor (cursor_key, value, updated_at) VALUES ($1, $2, now())
             ON CONFLICT (cursor_key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
            [cursor.key, cursor.value],
          );
        }
        return { inserted: batch.length - load.updates.length, updated: load.updates.length, events };
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
}

/** Session ids by `host_name NUL lsid` (as stored) for the sessions of the batch that already exist. */
async function existingSessions(tx: Queryable, batch: readonly SessionRecord[]): Promise<Map<string, number>> {
  const stored = (v: unknown) => (typeof v === 'string' ? storable(v) : null);
  const found = await tx.query<{ id: string; host_name: string; lsid: string }>(
    `SELECT s.id::text AS id, s.host_name, s.lsid FROM session s
     JOIN unnest($1::text[], $2::text[]) AS k(host_name, lsid) ON s.host_name = k.host_name AND s.lsid = k.lsid`,
    [batch.map((s) => stored(s.hostName)), batch.map((s) => stored(s.lsid))],
  );
  return new Map(found.rows.map((r) => [sessionKey(r.host_name, r.lsid), Number(r.id)]));
}

const sessionKey = (hostName: string, lsid: string) => `${hostName}\u0000${lsid}`;

/** The first of `sessions` new session ids and of `events` event ids, reserved for this batch. */
interface ReservedIds {
  session: number;
  event: number;
}

/**
 * Reserves consecutive ids from the identity sequences of session and session_event: one
 * statement moves each sequence past the block, so any other insert (ours, later; a DBA's)
 * draws ids after it. The rows are then COPYed with these ids: the children know their parent's
 * id without reading anything back, and a clash (an id already taken by a row inserted with an
 * explicit value) fails the batch on the primary key instead of attaching children to a guess.
 */
async function reserveIds(tx: Queryable, sessions: number, events: number): Promise<ReservedIds> {
  const block = (table: string, n: string) =>
    `CASE WHEN ${n} > 0 THEN (setval(pg_get_serial_sequence('${table}', 'id'), nextval(pg_get_serial_sequence('${table}', 'id')) + ${n} - 1) - ${n} + 1)::text END`;
  const r = (
    await tx.query<{ session: string | null; event: string | null }>(
      `SELECT ${block('session', '$1::bigint')} AS session, ${block('session_event', '$2::bigint')} AS event`,
      [sessions, events],
    )
  ).rows[0]!;
  return { session: Number(r.session ?? 0), event: Number(r.event ?? 0) };
}

/**
 * Takes the checked rows of a batch (RowSink) and encodes them into the COPY text of each table
 * with their ids: a new session gets the next reserved session id, an existing one keeps its id
 * (its row goes to `updates` instead), every event gets the next reserved event id.
 */
class BatchCopy implements RowSink {
  readonly updates: Row[] = [];
  readonly rewritten: number[] = [];
  readonly #sessions = new CopyText(SESSION, ['id']);
  readonly #events = new CopyText(SESSION_EVENT, ['id', 'session_id']);
  readonly #children = new Map<Table, CopyText>([
    ...EVENT_CHILD_TABLES.map((t): [Table, CopyText] => [t, new CopyText(t, ['session_event_id'])]),
    ...SESSION_CHILD_TABLES.map((t): [Table, CopyText] => [t, new CopyText(t, ['session_id'])]),
  ]);
  #nextSession: number;
  #nextEvent: number;
  /** `"<session id>,"` and `"<event id>,"` of the current parents: the id prefix of their children's rows. */
  #session = '';
  #event = '';

  constructor(
    private readonly existing: ReadonlyMap<string, number>,
    first: ReservedIds,
  ) {
    this.#nextSession = first.session;
    this.#nextEvent = first.event;
  }

  session(row: Row): void {
    const known = this.existing.get(sessionKey(row[HOST_NAME] as string, row[LSID] as string));
    if (known === undefined) {
      this.#session = `${this.#nextSession++},`;
      this.#sessions.add(this.#session, row);
    } else {
      this.#session = `${known},`;
      this.updates.push(row);
      this.rewritten.push(known);
    }
  }

  sessionChild(table: Table, row: Row): void {
    this.#children.get(table)!.add(this.#session, row);
  }

  event(row: Row): void {
    this.#event = `${this.#nextEvent++},`;
    this.#events.add(this.#event + this.#session, row);
  }

  eventChild(table: Table, row: Row): void {
    this.#children.get(table)!.add(this.#event, row);
  }

  /** Parents first, so every foreign key finds its row. */
  texts(): CopyText[] {
    return [this.#sessions, this.#events, ...this.#children.values()];
  }
}

/** Updates existing sessions (found in this transaction, so each keeps its id). */
async function updateSessions(tx: Queryable, rows: Row[]): Promise<void> {
  const keys = new Set(['host_name', 'lsid']);
  const set = SESSION.columns
    .filter((c) => !keys.has(c.name))
    .map((c) => `${c.name} = EXCLUDED.${c.name}`)
    .join(', ');
  for (const chunk of chunks(rows, SESSION.columns.length)) {
    await tx.query(
      `${insertSql(SESSION, chunk.length)} ON CONFLICT (host_name, lsid) DO UPDATE SET ${set}`,
      chunk.flat(),
    );
  }
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
