/**
 * Every T-SQL statement the mssql adapter sends, as named constants or builders of
 * parameterised text (values always travel as parameters; builders only vary the number of
 * placeholders). Kept apart so the unit tests parse them with a T-SQL parser.
 * Dialect rules (docs/storage.md): no MERGE, no prepared statements; upserts are
 * UPDATE/SELECT under UPDLOCK+HOLDLOCK then INSERT, inside the caller's transaction.
 */
import type { CredentialOutcome } from '../../broker/lease-store-port.js';
import { LEASE_COLUMNS, outcomeGuard } from '../state-rows.js';
import { EVENT_CHILD_TABLES, SESSION, SESSION_CHILD_TABLES, SESSION_EVENT, type Column } from '../bgsessions-tables.js';

/** The declared T-SQL type of a column (as in sql/mssql/002_bgsessions_tables.sql). */
export function mssqlType(c: Column): string {
  switch (c.kind) {
    case 'text':
      return `nvarchar(${c.max ?? 'max'})`;
    case 'int':
      return 'int';
    case 'bigint':
      return 'bigint';
    case 'time':
      return 'datetime2(3)';
    case 'bool':
      return 'bit';
  }
}

export const SCHEMA_VERSION_SQL = `IF OBJECT_ID(N'ecm_bridge.schema_version', N'U') IS NULL SELECT 0 AS v
ELSE SELECT COALESCE(MAX(version), 0) AS v FROM ecm_bridge.schema_version`;

export const RECORD_MIGRATION_SQL = 'INSERT INTO ecm_bridge.schema_version (version, name) VALUES (@version, @name)';

/** Session-owned application lock: held by the connection until released or disconnected. */
export const GET_APPLOCK_SQL = `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = @timeoutMs;
SELECT @result AS result`;

export const RELEASE_APPLOCK_SQL = `EXEC sp_releaseapplock @Resource = @resource, @LockOwner = 'Session'`;

/** Session columns per upsert statement: SQL Server takes at most 2,100 parameters. */
export const SESSIONS_PER_UPSERT = Math.floor(2_000 / SESSION.columns.length);
/** Ids per IN list. */
export const IDS_PER_STATEMENT = 1_000;

const sessionCols = SESSION.columns.map((c) => c.name);
const keyMatch = 's.host_name = i.host_name AND s.lsid = i.lsid';

/**
 * Upserts `n` session rows given as @r{row}c{column}. Result sets: the `ord` of rows that existed
 * (locked first, so a concurrent writer of the same key waits), then `ord, id` of every row.
 */
export function upsertSessionsSql(n: number): string {
  const tuples = Array.from({ length: n }, (_, r) => `(${r}, ${sessionCols.map((_c, c) => `@r${r}c${c}`).join(', ')})`);
  const updates = sessionCols
    .filter((c) => c !== 'host_name' && c !== 'lsid')
    .map((c) => `s.${c} = i.${c}`)
    .join(', ');
  return `DECLARE @in TABLE (ord int NOT NULL PRIMARY KEY, ${SESSION.columns.map((c) => `${c.name} ${mssqlType(c)}`).join(', ')});
INSERT INTO @in (ord, ${sessionCols.join(', ')}) VALUES ${tuples.join(', ')};
SELECT i.ord FROM @in AS i JOIN dbo.session AS s WITH (UPDLOCK, HOLDLOCK) ON ${keyMatch};
UPDATE s SET ${updates} FROM dbo.session AS s WITH (UPDLOCK, HOLDLOCK) JOIN @in AS i ON ${keyMatch};
INSERT INTO dbo.session (${sessionCols.join(', ')}) SELECT ${sessionCols.map((c) => `i.${c}`).join(', ')} FROM @in AS i
  WHERE NOT EXISTS (SELECT 1 FROM dbo.session AS s WITH (UPDLOCK, HOLDLOCK) WHERE ${keyMatch});
SELECT i.ord, s.id FROM @in AS i JOIN dbo.session AS s ON ${keyMatch}`;
}

const idList = (n: number) => Array.from({ length: n }, (_, i) => `@id${i}`).join(', ');

/** Deletes every child row of the sessions @id0..@id{n-1} (grandchildren first). */
export function deleteChildrenSql(n: number): string {
  const ids = idList(n);
  return [
    ...EVENT_CHILD_TABLES.map(
      (t) =>
        `DELETE c FROM dbo.${t.name} AS c JOIN dbo.session_event AS e ON e.id = c.session_event_id WHERE e.session_id IN (${ids});`,
    ),
    ...[SESSION_EVENT, ...SESSION_CHILD_TABLES].map((t) => `DELETE FROM dbo.${t.name} WHERE session_id IN (${ids});`),
  ].join('\n');
}

/** Event ids of the sessions @id0..@id{n-1}, to attach event children after a bulk insert. */
export function eventIdsSql(n: number): string {
  return `SELECT id, session_id, seq FROM dbo.session_event WHERE session_id IN (${idList(n)})`;
}

/** The tables readSession returns after the session row, in this order, each with its sort. */
export const READ_SESSION_PARTS = [
  { table: 'session_event', order: 'seq', ofEvents: false },
  { table: 'session_event_file', order: 'file_index', ofEvents: true },
  { table: 'session_event_data', order: 'seq', ofEvents: true },
  { table: 'system_information', order: 'seq', ofEvents: true },
  { table: 'customer', order: 'gsnumber', ofEvents: false },
  { table: 'representative', order: 'gsnumber', ofEvents: false },
  { table: 'team', order: 'seq', ofEvents: false },
  { table: 'custom_attribute', order: 'seq', ofEvents: false },
  { table: 'command_shell_recording', order: 'seq', ofEvents: false },
] as const;

/**
 * One session and its children (one result set per table: the session, then READ_SESSION_PARTS)
 * read in one SERIALIZABLE transaction, so a batch committing meanwhile is seen entirely or not at
 * all. One batch rather than a driver transaction because the isolation level outlives the
 * transaction on its pooled connection: the batch sets it back to READ COMMITTED (the server's
 * default, which every other statement of the adapter assumes) on success and on failure alike.
 */
export const READ_SESSION_SQL = `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
BEGIN TRY
  BEGIN TRANSACTION;
  DECLARE @id bigint;
  SELECT @id = id FROM dbo.session WHERE host_name = @host AND lsid = @lsid;
  SELECT * FROM dbo.session WHERE id = @id;
${READ_SESSION_PARTS.map((p) =>
  p.ofEvents
    ? `  SELECT c.* FROM dbo.${p.table} AS c JOIN dbo.session_event AS e ON e.id = c.session_event_id
    WHERE e.session_id = @id ORDER BY c.session_event_id, c.${p.order};`
    : `  SELECT * FROM dbo.${p.table} WHERE session_id = @id ORDER BY ${p.order};`,
).join('\n')}
  COMMIT TRANSACTION;
END TRY
BEGIN CATCH
  IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
  SET TRANSACTION ISOLATION LEVEL READ COMMITTED;
  THROW;
END CATCH;
SET TRANSACTION ISOLATION LEVEL READ COMMITTED`;

export function countSql(table: string): string {
  return `SELECT COUNT(*) AS n FROM dbo.${table}`;
}

/**
 * Upsert of one row keyed by `key` (`stampColumn`, when given, is set to the server's UTC now).
 * Run it inside a transaction so the HOLDLOCK taken by the UPDATE lasts until the INSERT.
 */
export function upsertRowSql(table: string, key: string, columns: readonly string[], stampColumn?: string): string {
  const sets = columns.filter((c) => c !== key).map((c) => `${c} = @${c}`);
  const cols = [...columns];
  const vals = columns.map((c) => `@${c}`);
  if (stampColumn) {
    sets.push(`${stampColumn} = SYSUTCDATETIME()`);
    cols.push(stampColumn);
    vals.push('SYSUTCDATETIME()');
  }
  return `UPDATE ${table} WITH (UPDLOCK, HOLDLOCK) SET ${sets.join(', ')} WHERE ${key} = @${key};
IF @@ROWCOUNT = 0 INSERT INTO ${table} (${cols.join(', ')}) VALUES (${vals.join(', ')})`;
}

export const UPSERT_CURSOR_SQL = upsertRowSql(
  'ecm_bridge.report_cursor',
  'cursor_key',
  ['cursor_key', 'value'],
  'updated_at',
);
export const GET_CURSOR_SQL = 'SELECT value FROM ecm_bridge.report_cursor WHERE cursor_key = @key';
/**
 * Sets @fenced when the writer's fence (@fence_id, @fence_epoch; @fence_id NULL for a write
 * without one) no longer holds. Inside the writing transaction; HOLDLOCK keeps the instance row
 * shared-locked until it commits, so a recovery's retireInstance (DELETE) waits for the write
 * rather than slipping between the check and the write.
 */
const FENCE_CHECK = `DECLARE @fenced bit = CASE WHEN @fence_id IS NULL THEN 0 ELSE 1 END;
SELECT @fenced = 0 FROM ecm_bridge.instance WITH (HOLDLOCK) WHERE instance_id = @fence_id AND epoch = @fence_epoch;`;
/** The lease upsert (run in a transaction), only while the writer's fence holds; returns whether it was fenced. */
export const UPSERT_LEASE_SQL = `${FENCE_CHECK}
UPDATE ecm_bridge.lease WITH (UPDLOCK, HOLDLOCK) SET ${LEASE_COLUMNS.filter((c) => c !== 'lease_id')
  .map((c) => `${c} = @${c}`)
  .join(', ')} WHERE lease_id = @lease_id AND @fenced = 0;
IF @@ROWCOUNT = 0 INSERT INTO ecm_bridge.lease (${LEASE_COLUMNS.join(', ')}) SELECT ${LEASE_COLUMNS.map((c) => `@${c}`).join(', ')}
WHERE @fenced = 0;
SELECT @fenced AS fenced`;
/** Whether the fence (@fence_id, @fence_epoch) no longer holds: why a fenced write changed nothing. */
export const FENCED_SQL = `SELECT CASE WHEN EXISTS (SELECT 1 FROM ecm_bridge.instance
  WHERE instance_id = @fence_id AND epoch = @fence_epoch) THEN 0 ELSE 1 END AS fenced`;
export const GET_LEASE_SQL = 'SELECT * FROM ecm_bridge.lease WHERE lease_id = @lease_id';
/**
 * A checkout's audit row and its lease in one round trip and one transaction (XACT_ABORT rolls
 * both back on any error), neither when the lease's credential id is spent (audit_id NULL);
 * parameters are @e_<column> for the row and @l_<column> for the lease.
 */
export function openLeaseSql(eventColumns: readonly string[], leaseColumns: readonly string[]): string {
  const leaseValues = leaseColumns.map((c) => (c === 'audit_id' ? '@audit_id' : `@l_${c}`));
  return `SET XACT_ABORT ON;
BEGIN TRANSACTION;
${FENCE_CHECK}
INSERT INTO ecm_bridge.credential_event (${eventColumns.join(', ')}) SELECT ${eventColumns.map((c) => `@e_${c}`).join(', ')}
WHERE NOT EXISTS (SELECT 1 FROM ecm_bridge.spent_credential WHERE credential_key = @l_credential_key) AND @fenced = 0;
DECLARE @opened int = @@ROWCOUNT;
DECLARE @audit_id bigint = SCOPE_IDENTITY();
INSERT INTO ecm_bridge.lease (${leaseColumns.join(', ')}) SELECT ${leaseValues.join(', ')} WHERE @opened = 1;
COMMIT TRANSACTION;
SELECT CASE WHEN @opened = 1 THEN @audit_id END AS audit_id`;
}
/**
 * Claims the lease for its check-in (of @console_user only, when given) unless another claim runs
 * past @now, and says whether another lease not being checked in holds its vault request, in one
 * round trip; the row stays, due for the sweep at @until. The UPDLOCK makes a second claimant wait
 * and then find it claimed (on engines that ignore the hint, the UPDATE's own condition does).
 * With @spend, a claimed lease that held a vault request also spends its credential id. Returns
 * the claimed row.
 */
export const CLAIM_CHECKIN_SQL = `SET XACT_ABORT ON;
BEGIN TRANSACTION;
${FENCE_CHECK}
DECLARE @rid nvarchar(128), @vu nvarchar(max), @shared bit = 0, @ckey nvarchar(64), @cexp datetime2(3);
SELECT @rid = vault_request_id, @vu = vault_user, @ckey = credential_key, @cexp = credential_expires_at
FROM ecm_bridge.lease WITH (UPDLOCK, HOLDLOCK) WHERE lease_id = @lease_id AND (@console_user IS NULL OR console_user = @console_user)
  AND (checkin_retry_at IS NULL OR checkin_retry_at <= @now) AND @fenced = 0;
SELECT @shared = 1 FROM ecm_bridge.lease
WHERE vault_request_id = @rid AND vault_user = @vu AND lease_id <> @lease_id AND checkin_retry_at IS NULL;
UPDATE ecm_bridge.lease SET checkin_retry_at = @until, checkin_retry_reason = @reason, checkin_attempts = COALESCE(checkin_attempts, 0)
WHERE lease_id = @lease_id AND @rid IS NOT NULL AND (checkin_retry_at IS NULL OR checkin_retry_at <= @now);
DECLARE @claimed int = @@ROWCOUNT;
IF @claimed = 1 AND @spend = 1 AND @ckey IS NOT NULL AND @cexp IS NOT NULL AND @rid <> N''
  AND NOT EXISTS (SELECT 1 FROM ecm_bridge.spent_credential WITH (UPDLOCK, HOLDLOCK) WHERE credential_key = @ckey)
  INSERT INTO ecm_bridge.spent_credential (credential_key, expires_at) VALUES (@ckey, @cexp);
COMMIT TRANSACTION;
SELECT *, @shared AS shared FROM ecm_bridge.lease WHERE lease_id = @lease_id AND @claimed = 1`;
/**
 * Ends a claimed lease and applies the audit patch to its row (a patch setting outcome `to` only
 * to a row in a state it may move from), in one transaction, unless the writer is fenced; returns
 * how many leases went (0 or 1) and whether it was fenced.
 */
export function finishCheckinSql(patchColumns: readonly string[], to?: CredentialOutcome): string {
  const ev = patchColumns.length
    ? `UPDATE ecm_bridge.credential_event SET ${patchColumns.map((c) => `${c} = @${c}`).join(', ')}
WHERE id = @audit AND @gone = 1 AND ${outcomeGuard(to)};
`
    : '';
  return `SET XACT_ABORT ON;
BEGIN TRANSACTION;
${FENCE_CHECK}
DECLARE @audit bigint;
SELECT @audit = audit_id FROM ecm_bridge.lease WITH (UPDLOCK, HOLDLOCK) WHERE lease_id = @lease_id;
DELETE FROM ecm_bridge.lease WHERE lease_id = @lease_id AND @fenced = 0;
DECLARE @gone int = @@ROWCOUNT;
${ev}COMMIT TRANSACTION;
SELECT @gone AS n, @fenced AS fenced`;
}
export const FORGET_SPENT_SQL =
  'DELETE FROM ecm_bridge.spent_credential OUTPUT DELETED.credential_key WHERE expires_at < @before';
export const HOLDS_REQUEST_SQL = `SELECT CASE WHEN EXISTS (SELECT 1 FROM ecm_bridge.lease
WHERE vault_request_id = @vault_request_id AND vault_user = @vault_user AND checkin_retry_at IS NULL) THEN 1 ELSE 0 END AS held`;
export const SESSION_LEASES_SQL =
  'SELECT * FROM ecm_bridge.lease WHERE lsid = @lsid AND account_id = @account_id ORDER BY created_at, lease_id';
/**
 * An intent becomes its vault request's lease: lease and audit row in one batch and one
 * transaction, unless its credential id is spent (nothing changes) or a lease of the same
 * credential id and session holds that request already (the intent goes, that lease gains a
 * joined answer, the audit row is closed as joined). Two replicas confirming at once: the unique
 * index on (credential_key, vault_request_id, lsid) fails the second with 2627/2601, and its retry joins.
 * Idempotent: the same values again give the same result.
 */
export const CONFIRM_LEASE_SQL = `SET XACT_ABORT ON;
BEGIN TRANSACTION;
${FENCE_CHECK}
DECLARE @key nvarchar(64), @lsid nvarchar(64), @audit bigint, @spent bit = 0, @held nvarchar(128) = NULL;
SELECT @key = credential_key, @lsid = lsid, @audit = audit_id FROM ecm_bridge.lease WITH (UPDLOCK) WHERE lease_id = @lease_id
  AND @fenced = 0;
SELECT @spent = 1 FROM ecm_bridge.spent_credential WHERE credential_key = @key;
SELECT @held = lease_id FROM ecm_bridge.lease WITH (UPDLOCK, HOLDLOCK)
WHERE @spent = 0 AND credential_key = @key AND vault_request_id = @vault_request_id AND lease_id <> @lease_id
  AND (lsid = @lsid OR (lsid IS NULL AND @lsid IS NULL));
UPDATE ecm_bridge.lease SET vault_request_id = @vault_request_id, expires_at = @expires_at
WHERE lease_id = @lease_id AND @spent = 0 AND @held IS NULL AND @fenced = 0;
UPDATE ecm_bridge.lease SET joined_answers = COALESCE(joined_answers, 0) + 1 WHERE lease_id = @held;
DELETE FROM ecm_bridge.lease WHERE lease_id = @lease_id AND @held IS NOT NULL;
UPDATE ecm_bridge.credential_event SET vault_request_id = @vault_request_id, outcome = N'checked_out', checkout_at = @checkout_at,
  checkin_at = CASE WHEN @held IS NULL THEN checkin_at ELSE @checkout_at END,
  checkin_reason = CASE WHEN @held IS NULL THEN checkin_reason ELSE N'joined' END
WHERE id = @audit AND @spent = 0 AND ${outcomeGuard('checked_out')};
COMMIT TRANSACTION;
SELECT @spent AS spent, @held AS joined, @fenced AS fenced`;
/** Expired leases and failed check-ins whose retry is due (each condition has its index). */
export const DUE_LEASES_SQL = `SELECT * FROM ecm_bridge.lease WHERE expires_at < @at OR checkin_retry_at <= @at
ORDER BY expires_at, lease_id`;
export const LIST_LEASES_SQL = `SELECT * FROM ecm_bridge.lease
WHERE (@owner IS NULL OR owner = @owner) AND (@before IS NULL OR expires_at < @before) ORDER BY expires_at, lease_id`;
/** The heartbeat (run in a transaction): whether the row was there, then the upsert. */
export const TOUCH_INSTANCE_SQL = `SELECT COUNT(*) AS existed FROM ecm_bridge.instance WITH (UPDLOCK, HOLDLOCK) WHERE instance_id = @instance_id;
${upsertRowSql('ecm_bridge.instance', 'instance_id', ['instance_id', 'last_seen_at', 'epoch'])}`;
/** A joined replica's heartbeat: only while its row holds its epoch; returns the rows renewed (0: fenced). */
export const RENEW_INSTANCE_SQL = `UPDATE ecm_bridge.instance SET last_seen_at = @last_seen_at
WHERE instance_id = @instance_id AND epoch = @epoch;
SELECT @@ROWCOUNT AS renewed`;
export const STALE_INSTANCES_SQL = `SELECT instance_id FROM ecm_bridge.instance WHERE last_seen_at < @before
UNION SELECT DISTINCT owner FROM ecm_bridge.lease l WHERE created_at < @before
  AND NOT EXISTS (SELECT 1 FROM ecm_bridge.instance i WHERE i.instance_id = l.owner)
ORDER BY instance_id`;
/** A graceful stop's hand-over: the leases of @from go to the instance heard from last (since @since). */
export const HAND_OVER_LEASES_SQL = `SET XACT_ABORT ON;
BEGIN TRANSACTION;
DECLARE @heir nvarchar(128);
SELECT TOP (1) @heir = instance_id FROM ecm_bridge.instance
WHERE instance_id <> @from AND last_seen_at >= @since ORDER BY last_seen_at DESC, instance_id;
UPDATE ecm_bridge.lease SET owner = @heir WHERE owner = @from AND @heir IS NOT NULL;
DECLARE @moved int = @@ROWCOUNT;
COMMIT TRANSACTION;
SELECT @heir AS heir, @moved AS leases`;
/** The fence: the row goes if still stale; retired when no row of the instance remains. */
export const RETIRE_INSTANCE_SQL = `DELETE FROM ecm_bridge.instance WHERE instance_id = @instance_id AND last_seen_at < @before;
SELECT CASE WHEN EXISTS (SELECT 1 FROM ecm_bridge.instance WHERE instance_id = @instance_id) THEN 0 ELSE 1 END AS retired`;
export const LIST_CREDENTIAL_EVENTS_SQL = `SELECT * FROM (SELECT TOP (@limit) * FROM ecm_bridge.credential_event
WHERE (@lsid IS NULL OR lsid = @lsid) ORDER BY id DESC) AS newest ORDER BY id`;

/** The newest audit row keeping lease key @lease_key (a seek on credential_event__lease_key_ndx). */
export const LEASE_EVENT_SQL = `SELECT TOP (1) * FROM ecm_bridge.credential_event WHERE lease_key = @lease_key ORDER BY id DESC`;

export function insertCredentialEventSql(columns: readonly string[]): string {
  return `INSERT INTO ecm_bridge.credential_event (${columns.join(', ')}) OUTPUT INSERTED.id VALUES (${columns.map((c) => `@${c}`).join(', ')})`;
}

/** Patches audit row @id; one that sets outcome `to` only from a state it may move from. Outputs the id when it did. */
export function updateCredentialEventSql(columns: readonly string[], to?: CredentialOutcome): string {
  return `UPDATE ecm_bridge.credential_event SET ${columns.map((c) => `${c} = @${c}`).join(', ')} OUTPUT INSERTED.id
WHERE id = @id AND ${outcomeGuard(to)}`;
}

/**
 * Quarantines one refused session: its row updated when the site already has its lsid key, else
 * inserted (under UPDLOCK+HOLDLOCK so two writers cannot both insert); `fresh` says which.
 */
export const QUARANTINE_SQL = `
DECLARE @n int;
UPDATE ecm_bridge.quarantined_session WITH (UPDLOCK, HOLDLOCK)
  SET lsid = @lsid, reason = @reason, detail = @detail, report_window = @window, last_seen_at = @at
  WHERE site = @site AND lsid_key = @lsid_key;
SET @n = @@ROWCOUNT;
IF @n = 0
  INSERT INTO ecm_bridge.quarantined_session
    (site, lsid_key, lsid, reason, detail, report_window, first_seen_at, last_seen_at)
    VALUES (@site, @lsid_key, @lsid, @reason, @detail, @window, @at, @at);
SELECT CASE WHEN @n = 0 THEN 1 ELSE 0 END AS fresh;`;

/** The quarantined sessions, last seen first (@limit of them), then how many there are. */
export const QUARANTINED_SQL = `
SELECT TOP (@limit) site, lsid_key, lsid, reason, detail, report_window, first_seen_at, last_seen_at
  FROM ecm_bridge.quarantined_session ORDER BY last_seen_at DESC, site, lsid_key;
SELECT COUNT(*) AS n FROM ecm_bridge.quarantined_session;`;

/**
 * Owes one recording file: its row replaced when the site already owes it (keeping the earliest
 * first failure), else inserted (under UPDLOCK+HOLDLOCK so two writers cannot both insert).
 */
export const MISSING_RECORDING_SQL = `
UPDATE ecm_bridge.missing_recording WITH (UPDLOCK, HOLDLOCK)
  SET lsid = @lsid, instance = @instance, download_url = @download_url, node = @node, attempts = @attempts,
    last_code = @last_code, last_error = @last_error, last_tried_at = @last_tried_at, next_try_at = @next_try_at,
    first_failed_at = CASE WHEN first_failed_at < @first_failed_at THEN first_failed_at ELSE @first_failed_at END
  WHERE site = @site AND recording = @recording;
IF @@ROWCOUNT = 0
  INSERT INTO ecm_bridge.missing_recording
    (site, recording, lsid, instance, download_url, node, attempts, last_code, last_error, first_failed_at, last_tried_at, next_try_at)
    VALUES (@site, @recording, @lsid, @instance, @download_url, @node, @attempts, @last_code, @last_error, @first_failed_at, @last_tried_at, @next_try_at);`;

/** Owed recording names per DELETE: well under SQL Server's 2,100 parameters. */
export const RECORDINGS_PER_DELETE = 500;

/** Forgets @r0..@r{count-1} of @site. */
export function forgetMissingRecordingsSql(count: number): string {
  const names = Array.from({ length: count }, (_, k) => `@r${k}`).join(', ');
  return `DELETE FROM ecm_bridge.missing_recording WHERE site = @site AND recording IN (${names})`;
}

/** Owed files (@limit, soonest due first), of @site and due by @due when asked; then how many the site owes. */
export function missingRecordingsSql(q: { site: boolean; due: boolean }): string {
  const site = q.site ? 'site = @site' : '1 = 1';
  const due = q.due ? ' AND next_try_at <= @due' : '';
  return `
SELECT TOP (@limit) site, recording, lsid, instance, download_url, node, attempts, last_code, last_error,
    first_failed_at, last_tried_at, next_try_at
  FROM ecm_bridge.missing_recording WHERE ${site}${due} ORDER BY next_try_at, site, recording;
SELECT COUNT(*) AS n FROM ecm_bridge.missing_recording WHERE ${site};`;
}
