import { describe, expect, it } from 'vitest';
import { BGSESSIONS_TABLES, type Column } from '../../../src/store/bgsessions-tables.js';
import { loadMigrations, type Dialect } from '../../../src/store/migrations.js';
import { mssqlType } from '../../../src/store/mssql/sql.js';

/** Column name -> declared type of every CREATE TABLE in a dialect's migrations (identity ids left out). */
function declaredColumns(dialect: Dialect): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  const sql = loadMigrations(dialect)
    .map((m) => m.sql)
    .join('\n');
  for (const m of sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(?:dbo\.)?([\w.]+) \(\n([\s\S]*?)\n\);/g)) {
    const cols = new Map<string, string>();
    for (const line of m[2]!.split('\n')) {
      const c = /^\s+(\w+)\s+(\w+(?:\([\w,]+\))?)/.exec(line);
      if (!c || ['CONSTRAINT', 'PRIMARY'].includes(c[1]!) || /IDENTITY/.test(line)) continue;
      cols.set(c[1]!, c[2]!.toLowerCase());
    }
    tables.set(m[1]!, cols);
  }
  return tables;
}

const postgresType = (c: Column) =>
  ({
    text: c.max === undefined ? 'text' : `varchar(${c.max})`,
    int: 'integer',
    bigint: 'bigint',
    time: 'timestamptz',
    bool: 'boolean',
  })[c.kind];

describe('BGSessions table definitions (TypeScript) match the SQL files', () => {
  for (const [dialect, typeOf] of [
    ['mssql', mssqlType],
    ['postgres', postgresType],
  ] as const) {
    it(`${dialect}: same tables, columns, order-free, types and lengths`, () => {
      const declared = declaredColumns(dialect);
      for (const t of BGSESSIONS_TABLES) {
        const cols = declared.get(t.name);
        expect(cols, `table ${t.name} in sql/${dialect}`).toBeDefined();
        expect(Object.fromEntries(cols!)).toEqual(Object.fromEntries(t.columns.map((c) => [c.name, typeOf(c)])));
      }
    });
  }

  it('keeps the column names BeyondTrust documents', () => {
    const names = (table: string) => BGSESSIONS_TABLES.find((t) => t.name === table)!.columns.map((c) => c.name);
    expect(names('session')).toEqual(
      expect.arrayContaining([
        'lsid',
        'type',
        'start_time',
        'end_time',
        'duration',
        'file_transfers',
        'host_name',
        'external_key',
        'public_site_id',
        'public_site_name',
        'lseq',
        'jump_group_id',
        'jump_group_name',
      ]),
    );
    expect(names('session_event')).toEqual(
      expect.arrayContaining(['session_id', 'type', 'performed_by', 'performed_by_type', 'destination']),
    );
    expect(names('session_event_data')).toEqual(expect.arrayContaining(['session_event_id', 'name', 'value']));
    expect(BGSESSIONS_TABLES.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'session',
        'session_event',
        'session_event_data',
        'system_information',
        'representative',
        'customer',
        'team',
        'custom_attribute',
      ]),
    );
  });
});
