import { ServiceError } from '../platform/errors.js';
import type { EventParty, SessionEvent, SessionRecord } from '../reporting/session-record.js';
import {
  COMMAND_SHELL_RECORDING,
  CUSTOM_ATTRIBUTE,
  CUSTOMER,
  REPRESENTATIVE,
  SESSION,
  SESSION_EVENT,
  SESSION_EVENT_DATA,
  SESSION_EVENT_FILE,
  SYSTEM_INFORMATION,
  TEAM,
  type Table,
} from './bgsessions-tables.js';

/** A row without its leading parent id (session_id or session_event_id), in the table's column order. */
export type Row = unknown[];

export interface EventPlan {
  /** session_event row without session_id. */
  row: Row;
  seq: number;
  /** Rows of session_event_file, session_event_data, system_information without session_event_id. */
  children: Map<Table, Row[]>;
}

/** One session turned into rows, validated, waiting only for the database ids of its parents. */
export interface SessionPlan {
  hostName: string;
  lsid: string;
  session: Row;
  events: EventPlan[];
  /** Rows of customer, representative, team, custom_attribute, command_shell_recording without session_id. */
  children: Map<Table, Row[]>;
}

/**
 * Turns a batch into rows. A session listed twice keeps its last occurrence (the newer read).
 * Throws store.write_failed, before anything is written, when a value would not fit its column
 * (SQL Server would refuse it; we never truncate) or a child key repeats within a session.
 */
export function planBatch(sessions: readonly SessionRecord[]): SessionPlan[] {
  return lastOccurrences(sessions).map((s) => {
    const plan = new PlanSink();
    emitSession(s, plan);
    return plan.plan!;
  });
}

/** The batch with each (hostName, lsid) once, at its last occurrence's value, in first-seen order. */
export function lastOccurrences(sessions: readonly SessionRecord[]): SessionRecord[] {
  const byKey = new Map<string, SessionRecord>();
  for (const s of sessions) byKey.set(`${s.hostName}\u0000${s.lsid}`, s);
  return [...byKey.values()];
}

/**
 * Receives one session's checked rows, in this order: the session row, the session's child rows,
 * then each event row followed by that event's child rows. Rows carry no parent id: a child's
 * parent is the session or event handed over last. One walk over the records feeds either
 * SessionPlans (planBatch) or a loader that encodes rows as they come (the PGlite COPY).
 */
export interface RowSink {
  session(row: Row): void;
  sessionChild(table: Table, row: Row): void;
  event(row: Row): void;
  eventChild(table: Table, row: Row): void;
}

/** Where the key columns are in a session row. */
const LSID = SESSION.columns.findIndex((c) => c.name === 'lsid');
const HOST_NAME = SESSION.columns.findIndex((c) => c.name === 'host_name');

/** Collects the rows of one session into a SessionPlan. */
class PlanSink implements RowSink {
  plan: SessionPlan | undefined;
  #event: EventPlan | undefined;

  session(row: Row): void {
    this.plan = {
      hostName: row[HOST_NAME] as string,
      lsid: row[LSID] as string,
      session: row,
      events: [],
      children: new Map(),
    };
  }
  sessionChild(table: Table, row: Row): void {
    push(this.plan!.children, table, row);
  }
  event(row: Row): void {
    this.#event = { row, seq: row[0] as number, children: new Map() };
    this.plan!.events.push(this.#event);
  }
  eventChild(table: Table, row: Row): void {
    push(this.#event!.children, table, row);
  }
}

function push(children: Map<Table, Row[]>, table: Table, row: Row): void {
  const rows = children.get(table);
  if (rows) rows.push(row);
  else children.set(table, [row]);
}

/**
 * Checks one session and hands its rows to `sink` (see RowSink for the order). Throws
 * store.write_failed at the first value that would not fit its column or child key that repeats.
 */
export function emitSession(s: SessionRecord, sink: RowSink): void {
  const where = `session ${s.hostName}/${s.lsid}`;
  const checked = (table: Table, row: Row, offset: number) => checkRow(table, row, offset, where);
  sink.session(
    checked(
      SESSION,
      [
        s.lsid,
        s.type,
        s.lseq,
        s.startTime,
        s.endTime,
        s.duration,
        s.fileTransferCount,
        s.fileMoveCount,
        s.fileDeleteCount,
        s.hostName,
        s.externalKey,
        s.publicSiteId,
        s.publicSiteName,
        s.jumpGroup?.id ?? null,
        s.jumpGroup?.type ?? null,
        s.jumpGroup?.name ?? null,
        s.jumpoint?.id ?? null,
        s.jumpoint?.name ?? null,
        s.primaryCustomer?.gsnumber ?? null,
        s.primaryCustomer?.name ?? null,
        s.primaryRep?.gsnumber ?? null,
        s.primaryRep?.id ?? null,
        s.primaryRep?.name ?? null,
        s.chatViewUrl,
        s.chatDownloadUrl,
        s.recordingViewUrl,
        s.recordingDownloadUrl,
      ],
      0,
    ),
  );
  unique(
    s.events.map((e) => e.seq),
    `${where}: event seq`,
  );
  unique(
    s.customers.map((c) => c.gsnumber),
    `${where}: customer gsnumber`,
  );
  unique(
    s.representatives.map((r) => r.gsnumber),
    `${where}: representative gsnumber`,
  );
  for (const c of s.customers)
    sink.sessionChild(
      CUSTOMER,
      checked(CUSTOMER, [c.gsnumber, c.username, c.publicIp, c.publicPort, c.privateIp, c.hostname, c.os], 1),
    );
  for (const r of s.representatives)
    sink.sessionChild(
      REPRESENTATIVE,
      checked(
        REPRESENTATIVE,
        [
          r.gsnumber,
          r.id,
          r.username,
          r.displayName,
          r.publicDisplayName,
          r.privateDisplayName,
          r.publicIp,
          r.publicPort,
          r.privateIp,
          r.hostname,
          r.os,
          r.sessionOwner,
          r.secondsInvolved,
          r.invited,
        ],
        1,
      ),
    );
  s.teams.forEach((t, i) => sink.sessionChild(TEAM, checked(TEAM, [i, t.id, t.name], 1)));
  s.customAttributes.forEach((a, i) =>
    sink.sessionChild(CUSTOM_ATTRIBUTE, checked(CUSTOM_ATTRIBUTE, [i, a.codeName, a.displayName, a.value], 1)),
  );
  s.shellRecordings.forEach((r, i) =>
    sink.sessionChild(
      COMMAND_SHELL_RECORDING,
      checked(COMMAND_SHELL_RECORDING, [i, r.instance, r.downloadUrl, r.viewUrl], 1),
    ),
  );
  for (const e of s.events) {
    // The first file goes on the event row (the common single-file case, as the report has it);
    // further files of a files/file list go to session_event_file with their position.
    const first = e.files[0];
    sink.event(
      checked(
        SESSION_EVENT,
        [
          e.seq,
          e.time,
          e.type,
          e.performedBy?.type ?? null,
          e.performedBy?.gsnumber ?? null,
          e.performedBy?.name ?? null,
          e.destination?.type ?? null,
          e.destination?.gsnumber ?? null,
          e.destination?.name ?? null,
          e.body,
          first?.filename ?? null,
          first?.filesize ?? null,
        ],
        1,
      ),
    );
    for (let i = 1; i < e.files.length; i++)
      sink.eventChild(
        SESSION_EVENT_FILE,
        checked(SESSION_EVENT_FILE, [i, e.files[i]!.filename, e.files[i]!.filesize], 1),
      );
    e.data.forEach((d, i) => sink.eventChild(SESSION_EVENT_DATA, checked(SESSION_EVENT_DATA, [i, d.name, d.value], 1)));
    e.systemInformation.forEach((x, i) =>
      sink.eventChild(SYSTEM_INFORMATION, checked(SYSTEM_INFORMATION, [i, x.category, x.field, x.value, x.row], 1)),
    );
  }
}

/**
 * What replaces U+0000 in stored text: Postgres text cannot hold NUL at all, so one chat line
 * with a NUL would otherwise fail its batch on every pull, for ever. The same marker is written
 * to SQL Server so BeyondInsight sees one representation whatever the store. Lone UTF-16
 * surrogates (no UTF-8 form) become U+FFFD. Both keep the text's length.
 */
export const NUL_MARKER = '\u2400';

export function storable(text: string): string {
  // One plain class scan decides; most text has neither (this runs on every text of every row of
  // a batch, and the pairing pattern below is several times slower than the scan).
  if (!UNHOLDABLE.test(text)) return text;
  const noNul = text.replaceAll('\u0000', NUL_MARKER);
  return noNul.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

const UNHOLDABLE = /[\u0000\uD800-\uDFFF]/;

function checkRow(table: Table, row: Row, offset: number, where: string): Row {
  for (let i = 0; i < row.length; i++) {
    let value = row[i];
    const column = table.columns[i + offset]!;
    if (typeof value === 'string' && column.kind === 'text') row[i] = value = storable(value);
    if (value === null || value === undefined) {
      if (!column.nullable) throw writeError(`${where}: ${table.name}.${column.name} is required but missing`);
      row[i] = null;
    } else if (column.kind === 'text' && column.max !== undefined && (value as string).length > column.max) {
      throw writeError(
        `${where}: ${table.name}.${column.name} is ${(value as string).length} characters, longer than its ${column.max}`,
      );
    } else if (
      (column.kind === 'int' && !isInt32(value)) ||
      (column.kind === 'bigint' && !Number.isSafeInteger(value))
    ) {
      throw writeError(
        `${where}: ${table.name}.${column.name} is ${String(value)}, not an integer its ${column.kind} column can hold`,
      );
    }
  }
  return row;
}

const isInt32 = (v: unknown) =>
  Number.isInteger(v) && (v as number) >= -2_147_483_648 && (v as number) <= 2_147_483_647;

function unique(keys: number[], what: string): void {
  const seen = new Set<number>();
  for (const k of keys) {
    if (seen.has(k)) throw writeError(`${what} ${k} appears twice`);
    seen.add(k);
  }
}

function writeError(message: string): ServiceError {
  return new ServiceError('store.write_failed', `${message}; nothing of this batch was written`, {
    op: 'store.writeSessions',
  });
}

type DbRow = Record<string, unknown>;

/** Database integers come back as number (PGlite) or string (tedious bigint). */
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function party(type: unknown, gsnumber: unknown, name: unknown): EventParty | null {
  return name === null ? null : { type: str(type), gsnumber: num(gsnumber), name: String(name) };
}

/** Rows read back for one session: its event rows and every child table's rows, each in key order. */
export interface SessionRows {
  session: DbRow;
  events: DbRow[];
  /** Keyed by table name; event children carry session_event_id, the others session_id. */
  children: Record<string, DbRow[]>;
}

/** The inverse of planSession: rebuilds the SessionRecord from its rows. */
export function sessionFromRows({ session: r, events, children }: SessionRows): SessionRecord {
  const ofEvent = (table: string, id: unknown) =>
    (children[table] ?? []).filter((c) => String(c.session_event_id) === String(id));
  const rows = (table: string) => children[table] ?? [];
  return {
    hostName: String(r.host_name),
    lsid: String(r.lsid),
    type: String(r.type),
    lseq: num(r.lseq),
    startTime: r.start_time as Date,
    endTime: (r.end_time as Date | null) ?? null,
    duration: str(r.duration),
    externalKey: str(r.external_key),
    publicSiteId: Number(r.public_site_id),
    publicSiteName: String(r.public_site_name),
    jumpGroup:
      r.jump_group_name === null
        ? null
        : { id: num(r.jump_group_id), type: str(r.jump_group_type), name: String(r.jump_group_name) },
    jumpoint: r.jumpoint_name === null ? null : { id: num(r.jumpoint_id), name: String(r.jumpoint_name) },
    primaryCustomer:
      r.primary_customer_name === null
        ? null
        : { gsnumber: num(r.primary_customer_gsnumber), name: String(r.primary_customer_name) },
    primaryRep:
      r.primary_rep_name === null
        ? null
        : { gsnumber: num(r.primary_rep_gsnumber), id: num(r.primary_rep_id), name: String(r.primary_rep_name) },
    fileTransferCount: Number(r.file_transfers),
    fileMoveCount: Number(r.file_moves),
    fileDeleteCount: Number(r.file_deletes),
    chatViewUrl: str(r.session_chat_view_url),
    chatDownloadUrl: str(r.session_chat_download_url),
    recordingViewUrl: str(r.session_recording_view_url),
    recordingDownloadUrl: str(r.session_recording_download_url),
    customAttributes: rows('custom_attribute').map((a) => ({
      codeName: String(a.code_name),
      displayName: String(a.display_name),
      value: String(a.value),
    })),
    teams: rows('team').map((t) => ({ id: num(t.id), name: String(t.name) })),
    customers: rows('customer').map((c) => ({
      gsnumber: Number(c.gsnumber),
      username: str(c.username),
      publicIp: str(c.public_ip),
      publicPort: num(c.public_port),
      privateIp: str(c.private_ip),
      hostname: str(c.hostname),
      os: str(c.os),
    })),
    representatives: rows('representative').map((p) => ({
      gsnumber: Number(p.gsnumber),
      id: num(p.id),
      username: str(p.username),
      displayName: str(p.display_name),
      publicDisplayName: str(p.public_display_name),
      privateDisplayName: str(p.private_display_name),
      publicIp: str(p.public_ip),
      publicPort: num(p.public_port),
      privateIp: str(p.private_ip),
      hostname: str(p.hostname),
      os: str(p.os),
      sessionOwner: Boolean(p.session_owner),
      secondsInvolved: num(p.seconds_involved),
      invited: Boolean(p.invited),
    })),
    shellRecordings: rows('command_shell_recording').map((c) => ({
      instance: num(c.instance),
      downloadUrl: str(c.download_url),
      viewUrl: str(c.view_url),
    })),
    events: events.map((e): SessionEvent => ({
      seq: Number(e.seq),
      time: e.event_time as Date,
      type: String(e.type),
      performedBy: party(e.performed_by_type, e.performed_by_gsnumber, e.performed_by),
      destination: party(e.destination_type, e.destination_gsnumber, e.destination),
      body: str(e.body),
      files: [
        ...(e.filename === null ? [] : [{ filename: String(e.filename), filesize: num(e.filesize) }]),
        ...ofEvent('session_event_file', e.id).map((f) => ({
          filename: String(f.filename),
          filesize: num(f.filesize),
        })),
      ],
      data: ofEvent('session_event_data', e.id).map((d) => ({ name: String(d.name), value: String(d.value) })),
      systemInformation: ofEvent('system_information', e.id).map((x) => ({
        category: String(x.category),
        field: String(x.field),
        value: String(x.value),
        row: num(x.row_index),
      })),
    })),
  };
}
