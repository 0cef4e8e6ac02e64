import type { Transaction } from '@electric-sql/pglite';
import type { Column, ColumnKind, Table } from '../bgsessions-tables.js';

/**
 * The CSV text of a COPY ... FROM '/dev/blob' into one table, PGlite's way of streaming a file
 * into Postgres: one statement for any number of rows, no bind parameters to process. Rows are
 * encoded as they are added, in one pass and straight into the text (no per-row arrays of
 * fields): on a 15,000-row batch the JavaScript around the COPY is a visible part of the write.
 *
 * `idColumns` are written first, from a prefix the caller formats once per parent (`"17,"` for
 * one id, `"17,4,"` for two): the ids a child row shares with its siblings. The row values
 * follow, one per remaining column of the table, in its column order. Every text is quoted, so an
 * unquoted empty field is NULL and `""` is the empty string; quoting also keeps a text that reads
 * `\.` from ending the data.
 */
export class CopyText {
  /** The columns the row values fill, in order (the table's columns minus `idColumns`). */
  readonly columns: readonly Column[];
  readonly #kinds: readonly ColumnKind[];
  /**
   * The text in pieces of about PART characters, and the piece being built: the Blob encodes
   * short pieces for much less than one string appended to 15,000 times (a rope V8 must first
   * flatten, kept alive across young-generation collections while it grows).
   */
  readonly #parts: string[] = [];
  #text = '';
  #rows = 0;

  constructor(
    readonly table: Table,
    readonly idColumns: readonly string[] = [],
  ) {
    this.columns = table.columns.filter((c) => !idColumns.includes(c.name));
    this.#kinds = this.columns.map((c) => c.kind);
  }

  get rows(): number {
    return this.#rows;
  }

  /** Appends one row: `idPrefix` (the id columns' fields, each followed by a comma), then `row`. */
  add(idPrefix: string, row: readonly unknown[]): void {
    const kinds = this.#kinds;
    let line = idPrefix;
    for (let i = 0; i < row.length; i++) {
      if (i > 0) line += ',';
      const v = row[i];
      if (v === null || v === undefined) continue;
      switch (kinds[i]) {
        case 'text': {
          const t = String(v);
          line += t.includes('"') ? `"${t.replaceAll('"', '""')}"` : `"${t}"`;
          break;
        }
        case 'time':
          line += (v as Date).toISOString();
          break;
        case 'bool':
          line += v ? 't' : 'f';
          break;
        default:
          line += String(v);
      }
    }
    this.#text += `${line}\n`;
    if (this.#text.length > PART) {
      this.#parts.push(this.#text);
      this.#text = '';
    }
    this.#rows++;
  }

  /** Runs the COPY into the table, or into `into` (a table of the same shape); nothing when no row was added. */
  async copy(tx: Pick<Transaction, 'query'>, into = this.table.name): Promise<void> {
    if (this.#rows === 0) return;
    const names = [...this.idColumns, ...this.columns.map((c) => c.name)].join(', ');
    await tx.query(`COPY ${into} (${names}) FROM '/dev/blob' WITH (FORMAT csv)`, [], {
      blob: new Blob([...this.#parts, this.#text]),
    });
  }
}

/** Characters per piece of a COPY text. */
const PART = 16_384;
