/**
 * The BGSessions tables as data: table and column names, kinds and maximum lengths, shared by
 * both adapters (PGlite multi-row inserts, SQL Server bulk tables) and by the length checks that
 * turn "would be truncated" into a clear error before anything is written.
 * Must match sql/mssql/002_bgsessions_tables.sql and sql/postgres/002_bgsessions_tables.sql
 * (test/unit/store/bgsessions-tables.test.ts checks that it does).
 */
export type ColumnKind = 'text' | 'int' | 'bigint' | 'time' | 'bool';

export interface Column {
  name: string;
  kind: ColumnKind;
  /** nvarchar(n) length; undefined means nvarchar(max) for text. */
  max?: number;
  nullable: boolean;
}

export interface Table {
  name: string;
  /** Insertable columns in insert order (identity `id` columns excluded). */
  columns: readonly Column[];
}

function col(name: string, kind: ColumnKind, nullable: boolean, max?: number): Column {
  return max === undefined ? { name, kind, nullable } : { name, kind, nullable, max };
}
const text = (name: string, max?: number) => col(name, 'text', true, max);
const reqText = (name: string, max?: number) => col(name, 'text', false, max);
const big = (name: string, nullable = true) => col(name, 'bigint', nullable);
const int = (name: string, nullable = true) => col(name, 'int', nullable);

export const SESSION: Table = {
  name: 'session',
  columns: [
    reqText('lsid', 64),
    reqText('type', 64),
    big('lseq'),
    col('start_time', 'time', false),
    col('end_time', 'time', true),
    text('duration', 32),
    int('file_transfers', false),
    int('file_moves', false),
    int('file_deletes', false),
    reqText('host_name', 255),
    text('external_key'),
    int('public_site_id', false),
    reqText('public_site_name', 255),
    big('jump_group_id'),
    text('jump_group_type', 32),
    text('jump_group_name', 450),
    big('jumpoint_id'),
    text('jumpoint_name', 450),
    big('primary_customer_gsnumber'),
    text('primary_customer_name'),
    big('primary_rep_gsnumber'),
    big('primary_rep_id'),
    text('primary_rep_name'),
    text('session_chat_view_url'),
    text('session_chat_download_url'),
    text('session_recording_view_url'),
    text('session_recording_download_url'),
  ],
};

export const SESSION_EVENT: Table = {
  name: 'session_event',
  columns: [
    big('session_id', false),
    int('seq', false),
    col('event_time', 'time', false),
    reqText('type', 255),
    text('performed_by_type', 32),
    big('performed_by_gsnumber'),
    text('performed_by', 450),
    text('destination_type', 32),
    big('destination_gsnumber'),
    text('destination', 450),
    text('body'),
    text('filename'),
    big('filesize'),
  ],
};

export const SESSION_EVENT_FILE: Table = {
  name: 'session_event_file',
  columns: [big('session_event_id', false), int('file_index', false), reqText('filename'), big('filesize')],
};

export const SESSION_EVENT_DATA: Table = {
  name: 'session_event_data',
  columns: [big('session_event_id', false), int('seq', false), reqText('name', 450), reqText('value')],
};

export const SYSTEM_INFORMATION: Table = {
  name: 'system_information',
  columns: [
    big('session_event_id', false),
    int('seq', false),
    reqText('category', 450),
    reqText('field', 450),
    reqText('value'),
    int('row_index'),
  ],
};

export const CUSTOMER: Table = {
  name: 'customer',
  columns: [
    big('session_id', false),
    big('gsnumber', false),
    text('username'),
    text('public_ip', 64),
    int('public_port'),
    text('private_ip', 64),
    text('hostname', 255),
    text('os'),
  ],
};

export const REPRESENTATIVE: Table = {
  name: 'representative',
  columns: [
    big('session_id', false),
    big('gsnumber', false),
    big('id'),
    text('username'),
    text('display_name'),
    text('public_display_name'),
    text('private_display_name'),
    text('public_ip', 64),
    int('public_port'),
    text('private_ip', 64),
    text('hostname', 255),
    text('os'),
    col('session_owner', 'bool', false),
    int('seconds_involved'),
    col('invited', 'bool', false),
  ],
};

export const TEAM: Table = {
  name: 'team',
  columns: [big('session_id', false), int('seq', false), big('id'), reqText('name')],
};

export const CUSTOM_ATTRIBUTE: Table = {
  name: 'custom_attribute',
  columns: [
    big('session_id', false),
    int('seq', false),
    reqText('code_name', 450),
    reqText('display_name'),
    reqText('value'),
  ],
};

export const COMMAND_SHELL_RECORDING: Table = {
  name: 'command_shell_recording',
  columns: [big('session_id', false), int('seq', false), int('instance'), text('download_url'), text('view_url')],
};

/** Children keyed by session_id, in insert order. */
export const SESSION_CHILD_TABLES = [
  CUSTOMER,
  REPRESENTATIVE,
  TEAM,
  CUSTOM_ATTRIBUTE,
  COMMAND_SHELL_RECORDING,
] as const;
/** Children keyed by session_event_id, in insert order. */
export const EVENT_CHILD_TABLES = [SESSION_EVENT_FILE, SESSION_EVENT_DATA, SYSTEM_INFORMATION] as const;

/** Every BGSessions table, parents first (insert order); reverse it to delete. */
export const BGSESSIONS_TABLES: readonly Table[] = [
  SESSION,
  SESSION_EVENT,
  ...EVENT_CHILD_TABLES,
  ...SESSION_CHILD_TABLES,
];
