import type { Transaction } from '@electric-sql/pglite';
import type { SessionRecord } from '../../reporting/session-record.js';
import { EVENT_CHILD_TABLES, SESSION, SESSION_CHILD_TABLES, SESSION_EVENT, type Table } from '../bgsessions-tables.js';
import { CopyText } from './copy.js';
import { emitSession, storable, type Row, type RowSink } from '../session-rows.js';

type Queryable = Pick<Transaction, 'query'>;

export interface LoadResult {
  inserted: number;
  updated: number;
  events: number;
}

/**
 * Writes a batch inside `tx`, as close to a raw COPY of its rows as the
 * contract allows:
 * 1. look up which sessions exist, by (host_name, lsid), and for those the ids of their events
 *    by seq (two reads, nothing else is read back);
 * 2. reserve ids for the new sessions and new events from the identity sequences (one statement);
 * 3. check and encode the records in one pass into the COPY text of each table, every row with
 *    its ids (a session that exists keeps its id, an event whose seq exists keeps its id);
 * 4. for existing sessions: update the session rows and kept events that changed (through a
 *    staging table, so an unchanged row is not written), delete their children and the events
 *    that are gone;
 * 5. COPY the new sessions, new events and every child row.
 * Keeping event rows matters: deleting an event row makes Postgres check the three tables that
 * reference it, row by row, which made a re-pulled batch cost more than twice a new one.
 * PGlite has one connection and this transaction holds it, so nothing can insert the same key
 * between the look-up and the COPY; were it to happen, the unique key fails the batch.
 */
export async function loadBatch(tx: Queryable, sessions: readonly SessionRecord[]): Promise<LoadResult> {
  const stored = (v: unknown) => (typeof v === 'string' ? storable(v) : null);
  // One session per key as stored: two spellings that store alike (a NUL and its marker) are one
  // session, the last one listed wins, as for a session listed twice.
  const batch = [...new Map(sessions.map((s) => [`${stored(s.hostName)}\u0000${stored(s.lsid)}`, s])).values()];
  const known = await existingSessionIds(
    tx,
    batch.map((s) => stored(s.hostName)),
    batch.map((s) => stored(s.lsid)),
  );
  const rewritten = known.filter((id): id is number => id !== undefined);
  const keptEvents = rewritten.length > 0 ? await eventIds(tx, rewritten) : new Map<string, number>();
  let events = 0;
  let kept = 0;
  batch.forEach((s, i) => {
    events += s.events.length;
    if (known[i] !== undefined) for (const e of s.events) if (keptEvents.has(`${known[i]},${e.seq}`)) kept++;
  });
  const load = new BatchCopy(known, keptEvents, await reserveIds(tx, batch.length - rewritten.length, events - kept));
  for (const s of batch) emitSession(s, load);
  if (rewritten.length > 0) {
    await updateChanged(tx, load.sessionUpdates);
    await deleteChildren(tx, rewritten);
    const gone = load.goneEvents();
    if (gone.length > 0) await tx.query('DELETE FROM session_event WHERE id = ANY($1::bigint[])', [gone]);
    await updateChanged(tx, load.eventUpdates);
  }
  for (const text of load.inserts()) await text.copy(tx);
  return { inserted: batch.length - rewritten.length, updated: rewritten.length, events };
}

/** For each (host_name, lsid) pair, the id of the session stored under it, if any. */
async function existingSessionIds(
  tx: Queryable,
  hosts: (string | null)[],
  lsids: (string | null)[],
): Promise<(number | undefined)[]> {
  const found = await tx.query<{ i: number; id: number }>(
    `SELECT k.i, s.id FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(host_name, lsid, i)
     JOIN session s ON s.host_name = k.host_name AND s.lsid = k.lsid`,
    [hosts, lsids],
  );
  const ids = new Array<number | undefined>(hosts.length).fill(undefined);
  for (const r of found.rows) ids[Number(r.i) - 1] = Number(r.id);
  return ids;
}

/**
 * Event ids of the given sessions, keyed `<session id>,<seq>`. Read as three arrays in one row:
 * 5,000 result rows cost several times more to decode in PGlite than one row of arrays.
 */
async function eventIds(tx: Queryable, sessionIds: number[]): Promise<Map<string, number>> {
  const found = (
    await tx.query<{ ids: number[] | null; sessions: number[] | null; seqs: number[] | null }>(
      `SELECT array_agg(id) AS ids, array_agg(session_id) AS sessions, array_agg(seq) AS seqs
       FROM session_event WHERE session_id = ANY($1::bigint[])`,
      [sessionIds],
    )
  ).rows[0]!;
  const ids = new Map<string, number>();
  found.ids?.forEach((id, i) => ids.set(`${found.sessions![i]},${found.seqs![i]}`, Number(id)));
  return ids;
}

/** The first of the new session ids and of the new event ids reserved for this batch. */
interface ReservedIds {
  session: number;
  event: number;
}

/**
 * Reserves consecutive ids from the identity sequences of session and session_event: one
 * statement moves each sequence past the block, so any other insert (ours, later; a DBA's)
 * draws ids after it. The rows are then COPYed with these ids: children know their parent's id
 * without reading anything back, and a clash (an id already taken by a row inserted with an
 * explicit value) fails the batch on the primary key instead of attaching children to a guess.
 */
async function reserveIds(tx: Queryable, sessions: number, events: number): Promise<ReservedIds> {
  const block = (table: string, n: string) =>
    `CASE WHEN ${n} > 0 THEN setval(pg_get_serial_sequence('${table}', 'id'), nextval(pg_get_serial_sequence('${table}', 'id')) + ${n} - 1) - ${n} + 1 END`;
  const r = (
    await tx.query<{ session: number | null; event: number | null }>(
      `SELECT ${block('session', '$1::bigint')} AS session, ${block('session_event', '$2::bigint')} AS event`,
      [sessions, events],
    )
  ).rows[0]!;
  return { session: Number(r.session ?? 0), event: Number(r.event ?? 0) };
}

/**
 * Takes the checked rows of a batch (RowSink) and encodes them with their ids: a new session
 * gets the next reserved id, an existing one keeps its id and its row goes to the updates; an
 * event of an existing session whose seq was stored keeps that row's id (its row goes to the
 * updates), any other event gets the next reserved id.
 */
class BatchCopy implements RowSink {
  readonly sessionUpdates = new CopyText(SESSION, ['id']);
  readonly eventUpdates = new CopyText(SESSION_EVENT, ['id', 'session_id']);
  readonly #sessions = new CopyText(SESSION, ['id']);
  readonly #events = new CopyText(SESSION_EVENT, ['id', 'session_id']);
  readonly #children = new Map<Table, CopyText>([
    ...EVENT_CHILD_TABLES.map((t): [Table, CopyText] => [t, new CopyText(t, ['session_event_id'])]),
    ...SESSION_CHILD_TABLES.map((t): [Table, CopyText] => [t, new CopyText(t, ['session_id'])]),
  ]);
  /** Stored events not (yet) met in the batch: what is left at the end is gone. */
  readonly #unmet: Map<string, number>;
  #index = 0;
  #nextSession: number;
  #nextEvent: number;
  #rewriting = false;
  /** `"<session id>,"` and `"<event id>,"` of the current parents: the id prefix of their children's rows. */
  #session = '';
  #event = '';

  constructor(
    private readonly known: readonly (number | undefined)[],
    private readonly stored: ReadonlyMap<string, number>,
    first: ReservedIds,
  ) {
    this.#unmet = new Map(stored);
    this.#nextSession = first.session;
    this.#nextEvent = first.event;
  }

  session(row: Row): void {
    const known = this.known[this.#index++];
    this.#rewriting = known !== undefined;
    this.#session = `${known ?? this.#nextSession++},`;
    (this.#rewriting ? this.sessionUpdates : this.#sessions).add(this.#session, row);
  }

  sessionChild(table: Table, row: Row): void {
    this.#children.get(table)!.add(this.#session, row);
  }

  event(row: Row): void {
    const key = this.#rewriting ? `${this.#session}${row[0] as number}` : undefined;
    const id = key === undefined ? undefined : this.stored.get(key);
    this.#event = `${id ?? this.#nextEvent++},`;
    if (id === undefined) this.#events.add(this.#event + this.#session, row);
    else {
      this.#unmet.delete(key!);
      this.eventUpdates.add(this.#event + this.#session, row);
    }
  }

  eventChild(table: Table, row: Row): void {
    this.#children.get(table)!.add(this.#event, row);
  }

  /** Ids of stored events of the re-pulled sessions that the batch no longer has. */
  goneEvents(): number[] {
    return [...this.#unmet.values()];
  }

  /** What is COPYed into the tables, parents first so every foreign key finds its row. */
  inserts(): CopyText[] {
    return [this.#sessions, this.#events, ...this.#children.values()];
  }
}

/**
 * Updates rows that exist (by id) to the values in `rows`, writing only those that differ: the
 * rows are COPYed into a temporary table of the same shape (no index, no foreign key), then one
 * UPDATE ... FROM compares and writes. A re-pulled session is mostly unchanged.
 */
async function updateChanged(tx: Queryable, rows: CopyText): Promise<void> {
  if (rows.rows === 0) return;
  const table = rows.table.name;
  const stage = `pg_temp.ecm_bridge_stage_${table}`;
  await tx.query(`CREATE TEMP TABLE IF NOT EXISTS ecm_bridge_stage_${table} (LIKE ${table})`);
  await rows.copy(tx, stage);
  const columns = rows.columns.map((c) => c.name);
  const list = (alias: string) => columns.map((c) => `${alias}.${c}`).join(', ');
  await tx.query(
    `UPDATE ${table} t SET ${columns.map((c) => `${c} = s.${c}`).join(', ')} FROM ${stage} s
     WHERE t.id = s.id AND (${list('t')}) IS DISTINCT FROM (${list('s')})`,
  );
  await tx.query(`DELETE FROM ${stage}`);
}

/** Deletes the child rows of the events of `sessionIds` and of the sessions themselves (not the events). */
async function deleteChildren(tx: Queryable, sessionIds: number[]): Promise<void> {
  for (const t of EVENT_CHILD_TABLES) {
    await tx.query(
      `DELETE FROM ${t.name} WHERE session_event_id IN (SELECT id FROM session_event WHERE session_id = ANY($1::bigint[]))`,
      [sessionIds],
    );
  }
  for (const t of SESSION_CHILD_TABLES) {
    await tx.query(`DELETE FROM ${t.name} WHERE session_id = ANY($1::bigint[])`, [sessionIds]);
  }
}
