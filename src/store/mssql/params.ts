import sql from 'mssql';
import type { Column, Table } from '../bgsessions-tables.js';

/** The mssql driver type of a BGSessions column (matches mssqlType in sql.ts). */
export function driverType(c: Column): sql.ISqlType | (() => sql.ISqlType) {
  switch (c.kind) {
    case 'text':
      return sql.NVarChar(c.max ?? sql.MAX);
    case 'int':
      return sql.Int;
    case 'bigint':
      return sql.BigInt;
    case 'time':
      return sql.DateTime2(3);
    case 'bool':
      return sql.Bit;
  }
}

/**
 * Binds a value whose column type is implied by its JavaScript type. Explicit because the
 * driver's own guess maps Date to datetime (1/300 s precision) and numbers to int. Strings are
 * nvarchar(4000) when they fit, so comparisons with bounded key columns can still seek an index.
 */
export function bind(request: sql.Request, name: string, value: unknown): sql.Request {
  if (value instanceof Date) return request.input(name, sql.DateTime2(3), value);
  if (typeof value === 'number') return request.input(name, Number.isInteger(value) ? sql.BigInt : sql.Float, value);
  if (typeof value === 'boolean') return request.input(name, sql.Bit, value);
  const text = value === null || value === undefined ? null : String(value);
  return request.input(name, sql.NVarChar(text !== null && text.length > 4000 ? sql.MAX : 4000), text);
}

/** Binds every value of `values` as @name. */
export function bindAll(request: sql.Request, values: Record<string, unknown>): sql.Request {
  for (const [name, value] of Object.entries(values)) bind(request, name, value);
  return request;
}

/** A bulk-load table for `table` holding `rows` (full rows, parent id first), for request.bulk. */
export function bulkTable(table: Table, rows: unknown[][]): sql.Table {
  const t = new sql.Table(`dbo.${table.name}`);
  t.create = false;
  for (const c of table.columns) t.columns.add(c.name, driverType(c), { nullable: c.nullable });
  for (const r of rows) t.rows.add(...(r as (string | number | boolean | Date | null)[]));
  return t;
}
