import type { Transaction } from '@electric-sql/pglite';
import type { Column, Table } from './bgsessions-tables.js';

/**
 * Loads rows into a table with COPY ... FROM '/dev/blob' (CSV), PGlite's way of streaming a
 * file into Postgres: one statement for any number of rows, no bind parameters to process.
 * Rows are full rows in the table's column order. Values are encoded by column kind; every text
 * is quoted, so an unquoted empty field is NULL and `""` is the empty string.
 */
export async function copyRows(tx: Pick<Transaction, 'query'>, table: Table, rows: unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  const encoders = table.columns.map(encoder);
  const lines = rows.map((row) => row.map((v, i) => (v === null || v === undefined ? '' : encoders[i]!(v))).join(','));
  const csv = new Blob([lines.join('\n'), '\n']);
  await tx.query(
    `COPY ${table.name} (${table.columns.map((c) => c.name).join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`,
    [],
    { blob: csv },
  );
}

function encoder(c: Column): (v: unknown) => string {
  switch (c.kind) {
    case 'text':
      return (v) => `"${String(v).replaceAll('"', '""')}"`;
    case 'time':
      return (v) => (v as Date).toISOString();
    case 'bool':
      return (v) => (v ? 't' : 'f');
    case 'int':
    case 'bigint':
      return (v) => String(v);
  }
}
