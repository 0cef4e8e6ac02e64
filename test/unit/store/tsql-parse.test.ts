import NodeSqlParser from 'node-sql-parser';
import { describe, expect, it } from 'vitest';
import { loadMigrations, loadScripts, splitBatches } from '../../../src/store/migrations.js';
import * as q from '../../../src/store/mssql/sql.js';
import { CREDENTIAL_EVENT_COLUMNS, LEASE_COLUMNS } from '../../../src/store/state-rows.js';

/**
 * Every T-SQL statement we ship (sql/mssql/*.sql batch by batch, and every statement the mssql
 * adapter sends) goes through node-sql-parser's TransactSQL grammar. That grammar is partial, so
 * the correct T-SQL it rejects is listed here with the reason; the shipped SQL is never
 * rewritten to please the parser. The test parses an exactly equivalent spelling where one
 * exists (`[session]` for `session`, an unnamed constraint for a named one), or else the
 * statement without just the unsupported clause (a foreign key, an OUTPUT clause), so the rest
 * of each statement is still checked. A statement that fails without a matching entry
 * fails the test, and so does an entry that no longer explains any failure. The real check of
 * the remaining statements is the SQL Server contract suite (MSSQL_URL).
 */
interface ParserGap {
  pattern: RegExp;
  reason: string;
  /** An exactly equivalent spelling the grammar accepts. */
  equivalent?: (sql: string) => string;
  /** The statement without the unsupported clause, so the rest of it is still checked. */
  without?: (sql: string) => string;
}

const PARSER_GAPS: ParserGap[] = [
  {
    pattern: /\bCONSTRAINT \w+ (PRIMARY KEY|DEFAULT|REFERENCES|CHECK)\b/,
    reason: 'named constraints (`CONSTRAINT name PRIMARY KEY|DEFAULT|REFERENCES|CHECK`) are not in the grammar',
    equivalent: (sql) => sql.replace(/\bCONSTRAINT \w+ (?=(PRIMARY KEY|DEFAULT|REFERENCES|CHECK)\b)/g, ''),
  },
  {
    pattern: /\bdbo\.session\b(?!_)/,
    reason: 'the grammar reserves the word `session`; SQL Server does not, and BeyondTrust fixes the table name',
    equivalent: (sql) => sql.replace(/\bdbo\.session\b(?!_)/g, 'dbo.[session]'),
  },
  {
    pattern: /\bREFERENCES [\w.[\]]+ \(\w+\)/,
    reason: 'foreign keys (`REFERENCES t (id)`, in a column or as FOREIGN KEY) are not in the grammar in any form',
    without: (sql) => sql.replace(/ REFERENCES [\w.[\]]+ \(\w+\)/g, ''),
  },
  {
    pattern: /\b(CREATE LOGIN|CREATE USER|DENY SELECT ON SCHEMA::)/,
    reason: 'security statements (CREATE LOGIN, CREATE USER, DENY ... ON SCHEMA::) are not in the grammar',
  },
  {
    pattern: /\bEXEC @\w+ = /,
    reason: '`EXEC @status = procedure ...` (capturing a return status) is not in the grammar',
    without: (sql) => sql.replace(/\bEXEC @\w+ = /, 'EXEC '),
  },
  {
    pattern: /^IF @@ROWCOUNT = 0 INSERT INTO [\w.]+ \(\w+, /m,
    reason: 'an INSERT with more than one column as the body of IF is not in the grammar (one column parses)',
    without: (sql) => sql.replace(/^IF @@ROWCOUNT = 0 /m, ''),
  },
  {
    pattern: /\b(BEGIN|END) (TRY|CATCH)\b/,
    reason: 'TRY...CATCH blocks (and IF @@TRANCOUNT > 0 ROLLBACK in them) are not in the grammar',
  },
  {
    pattern: /^\s*THROW\s*$/,
    reason: 'a bare THROW (re-raising the caught error) is not in the grammar',
  },
  {
    pattern: /\bOUTPUT (INSERTED|DELETED)\./,
    reason: 'the OUTPUT clause is not in the grammar',
    without: (sql) => sql.replace(/ OUTPUT (INSERTED|DELETED)\.[\w*]+/, ''),
  },
  {
    pattern: /^DECLARE @\w+ int = @@ROWCOUNT$/,
    reason: 'a DECLARE initialised from `@@ROWCOUNT` is not in the grammar (from a constant it parses)',
    without: (sql) => sql.replace('@@ROWCOUNT', '1'),
  },
  {
    pattern: /\bTOP \(@\w+\)/,
    reason: '`TOP (@variable)` is not in the grammar (TOP (10) parses)',
    without: (sql) => sql.replace(/\bTOP \(@\w+\)/, 'TOP (1000)'),
  },
];

/** What sqlcmd substitutes for the read-only login script's variables. */
const SQLCMD_VARS: Record<string, string> = {
  Database: 'BGSessions',
  ReaderLogin: 'beyondinsight_reader',
  ReaderPassword: 'Example-Only-1',
};

function shippedStatements(): { label: string; sql: string }[] {
  const out: { label: string; sql: string }[] = [];
  for (const m of loadMigrations('mssql'))
    splitBatches(m.sql).forEach((b, i) => out.push({ label: `${m.version} ${m.name} batch ${i}`, sql: b }));
  for (const s of loadScripts('mssql')) {
    const text = s.sql.replace(/\$\((\w+)\)/g, (_, name: string) => SQLCMD_VARS[name] ?? `$(${name})`);
    splitBatches(text).forEach((b, i) => out.push({ label: `${s.file} batch ${i}`, sql: b }));
  }
  return out;
}

function adapterStatements(): { label: string; sql: string }[] {
  const texts: Record<string, string> = {
    SCHEMA_VERSION_SQL: q.SCHEMA_VERSION_SQL,
    RECORD_MIGRATION_SQL: q.RECORD_MIGRATION_SQL,
    GET_APPLOCK_SQL: q.GET_APPLOCK_SQL,
    RELEASE_APPLOCK_SQL: q.RELEASE_APPLOCK_SQL,
    'upsertSessionsSql(3)': q.upsertSessionsSql(3),
    'deleteChildrenSql(2)': q.deleteChildrenSql(2),
    'eventIdsSql(2)': q.eventIdsSql(2),
    READ_SESSION_SQL: q.READ_SESSION_SQL,
    'countSql(session)': q.countSql('session'),
    'countSql(session_event)': q.countSql('session_event'),
    UPSERT_CURSOR_SQL: q.UPSERT_CURSOR_SQL,
    GET_CURSOR_SQL: q.GET_CURSOR_SQL,
    UPSERT_LEASE_SQL: q.UPSERT_LEASE_SQL,
    GET_LEASE_SQL: q.GET_LEASE_SQL,
    CLAIM_CHECKIN_SQL: q.CLAIM_CHECKIN_SQL,
    'finishCheckinSql(outcome, checkin_at)': q.finishCheckinSql(['outcome', 'checkin_at']),
    'finishCheckinSql()': q.finishCheckinSql([]),
    HOLDS_REQUEST_SQL: q.HOLDS_REQUEST_SQL,
    SESSION_LEASES_SQL: q.SESSION_LEASES_SQL,
    openLeaseSql: q.openLeaseSql(CREDENTIAL_EVENT_COLUMNS, LEASE_COLUMNS),
    LIST_LEASES_SQL: q.LIST_LEASES_SQL,
    DUE_LEASES_SQL: q.DUE_LEASES_SQL,
    CONFIRM_LEASE_SQL: q.CONFIRM_LEASE_SQL,
    FORGET_SPENT_SQL: q.FORGET_SPENT_SQL,
    TOUCH_INSTANCE_SQL: q.TOUCH_INSTANCE_SQL,
    RETIRE_INSTANCE_SQL: q.RETIRE_INSTANCE_SQL,
    HAND_OVER_LEASES_SQL: q.HAND_OVER_LEASES_SQL,
    STALE_INSTANCES_SQL: q.STALE_INSTANCES_SQL,
    LIST_CREDENTIAL_EVENTS_SQL: q.LIST_CREDENTIAL_EVENTS_SQL,
    insertCredentialEventSql: q.insertCredentialEventSql(CREDENTIAL_EVENT_COLUMNS),
    updateCredentialEventSql: q.updateCredentialEventSql(['outcome', 'checkin_at']),
  };
  // The adapter's multi-statement texts end each statement with ";\n".
  return Object.entries(texts).flatMap(([name, text]) =>
    text.split(/;\n/).map((sql, i) => ({ label: `${name} statement ${i}`, sql })),
  );
}

function parseAll(statements: { label: string; sql: string }[]) {
  const parser = new NodeSqlParser.Parser();
  const parses = (sql: string) => {
    try {
      parser.astify(sql, { database: 'TransactSQL' });
      return undefined;
    } catch (e) {
      return (e as Error).message.slice(0, 200);
    }
  };
  /** Parsed as written, or in an exactly equivalent spelling. */
  const parsed: string[] = [];
  /** Rejected for a listed reason only. */
  const gaps: { label: string; reason: string }[] = [];
  const unexplained: { label: string; error: string; sql: string }[] = [];
  for (const s of statements) {
    const error = parses(s.sql);
    if (error === undefined) {
      parsed.push(s.label);
      continue;
    }
    const matching = PARSER_GAPS.filter((g) => g.pattern.test(s.sql));
    const rewritten = matching.reduce((sql, g) => (g.equivalent ?? g.without)?.(sql) ?? sql, s.sql);
    const residual = matching.length > 0 ? parses(rewritten) : error;
    for (const g of matching) gaps.push({ label: s.label, reason: g.reason });
    if (residual === undefined) parsed.push(`${s.label} (rewritten for the parser)`);
    else if (matching.every((g) => g.equivalent ?? g.without))
      unexplained.push({ label: s.label, error: residual, sql: rewritten });
  }
  return { parsed, gaps, unexplained };
}

describe('T-SQL parses with node-sql-parser (TransactSQL)', () => {
  const shipped = parseAll(shippedStatements());
  const adapter = parseAll(adapterStatements());

  it('parses every sql/mssql batch, except the listed grammar gaps', () => {
    expect(shipped.unexplained).toEqual([]);
    // The index script is the part a DBA re-runs most: all of it must parse.
    expect(shipped.parsed.filter((l) => l.startsWith('3 bgsessions_indexes'))).toHaveLength(11);
    expect(shipped.parsed.length).toBeGreaterThanOrEqual(15);
  });

  it('parses every statement the mssql adapter sends, except the listed grammar gaps', () => {
    expect(adapter.unexplained).toEqual([]);
    expect(adapter.parsed.length).toBeGreaterThanOrEqual(20);
  });

  it('keeps the gap list honest: every entry explains at least one rejected statement', () => {
    const gaps = [...shipped.gaps, ...adapter.gaps];
    const parsed = [...shipped.parsed, ...adapter.parsed];
    const rewritten = parsed
      .filter((l) => l.endsWith(' (rewritten for the parser)'))
      .map((l) => l.replace(' (rewritten for the parser)', ''));
    const unparsed = [...new Set(gaps.map((g) => g.label))].filter((l) => !rewritten.includes(l));
    console.info(
      `[store] T-SQL: ${parsed.length - rewritten.length} statements parsed as written, ${rewritten.length} in an equivalent spelling ` +
        `or without the unsupported clause, ${unparsed.length} beyond the parser (left to the MSSQL_URL suite): ${unparsed.join('; ')}`,
    );
    const used = new Set(gaps.map((g) => g.reason));
    expect(PARSER_GAPS.filter((g) => !used.has(g.reason)).map((g) => g.reason)).toEqual([]);
  });

  it('rejects broken T-SQL (the parser is really checking)', () => {
    const broken = parseAll([
      { label: 'broken', sql: 'CREATE INDEX session_event__x ON dbo.session_event (type,, destination)' },
    ]);
    expect(broken.unexplained).toHaveLength(1);
  });
});
