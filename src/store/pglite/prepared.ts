import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { BatchWriter } from './group-commit.js';

export interface Statement {
  sql: string;
  params: unknown[];
}

interface Prepared {
  name: string;
  /** Parameter type OIDs as Postgres inferred them: they pick PGlite's serializer for each value. */
  types: number[];
}

const { serialize } = protocol;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Writes statements to PGlite as named prepared statements, a whole batch in one message.
 *
 * Why not `db.query()`: it sends Parse, Describe, Bind, Describe, Execute and Sync as six separate
 * calls into the WASM engine, and Postgres parses and plans the text again every time; on the
 * credential path that was most of the bridge's CPU per operation. Here each distinct statement is
 * parsed once per database (Postgres keeps its plan), and a batch is one message: Bind, Describe
 * and Execute per statement and a single Sync at the end. Without a BEGIN, everything before a
 * Sync is one implicit transaction, so a batch commits as a whole or, on the first error, is
 * rolled back as a whole (what `BatchWriter.many` promises).
 *
 * The statement texts come only from this code base (never from input), so the set of prepared
 * statements is small and fixed; they live as long as the database handle.
 */
export class PglitePreparedWriter implements BatchWriter<Statement, unknown[]> {
  readonly #prepared = new Map<string, Prepared>();

  constructor(private readonly db: PGlite) {}

  async one(statement: Statement): Promise<unknown[]> {
    return (await this.many([statement]))[0]!;
  }

  many(statements: readonly Statement[]): Promise<unknown[][]> {
    // Both of PGlite's locks, as `db.query()` outside a transaction takes them: a transaction of
    // another caller (the report writer's, say) must not have these statements run inside it.
    return this.db._runExclusiveTransaction(() =>
      this.db._runExclusiveQuery(async () => {
        const parts: Uint8Array[] = [];
        for (const s of statements) {
          const p = this.#prepared.get(s.sql) ?? (await this.#prepare(s.sql));
          parts.push(
            serialize.bind({ statement: p.name, values: s.params.map((v, i) => this.#value(v, p.types[i]!)) }),
            serialize.describe({ type: 'P' }),
            serialize.execute({}),
          );
        }
        parts.push(serialize.sync());
        const { messages } = await this.db.execProtocol(concat(parts));
        return parse.parseResults(messages, this.db.parsers).map((r) => r.rows);
      }),
    );
  }

  async #prepare(sql: string): Promise<Prepared> {
    const name = `ecm_bridge_${this.#prepared.size + 1}`;
    const { messages } = await this.db.execProtocol(
      concat([serialize.parse({ name, text: sql }), serialize.describe({ type: 'S', name }), serialize.sync()]),
    );
    const prepared = { name, types: parse.parseDescribeStatementResults(messages) };
    this.#prepared.set(sql, prepared);
    return prepared;
  }

  /** A value in Postgres' text format, the way `db.query()` sends it. */
  #value(v: unknown, type: number): string | null {
    if (v === null || v === undefined) return null;
    const serializer = this.db.serializers[type];
    return serializer ? serializer(v) : String(v);
  }
}
