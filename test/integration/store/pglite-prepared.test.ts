import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PglitePreparedWriter } from '../../../src/store/pglite/prepared.js';

/** The writer under the state store: prepared statements, one message and one commit per batch. */
describe('PGlite prepared writer', () => {
  let db: PGlite;
  let writer: PglitePreparedWriter;
  const insert = (id: number, note: string | null) => ({
    sql: 'INSERT INTO t (id, note, at, flag) VALUES ($1, $2, $3, $4) RETURNING id, note, at, flag',
    params: [id, note, new Date(Date.UTC(2026, 10, 29, 12, 0, id)), id % 2 === 0],
  });
  const ids = async () => (await db.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id);

  beforeAll(async () => {
    db = await PGlite.create('memory://');
    await db.exec('CREATE TABLE t (id int PRIMARY KEY, note text, at timestamptz NOT NULL, flag boolean NOT NULL)');
  });
  beforeEach(async () => {
    await db.exec('TRUNCATE t; DEALLOCATE ALL');
    writer = new PglitePreparedWriter(db);
  });
  afterAll(async () => db?.close());

  it('sends values and reads rows as db.query does (dates, nulls, booleans, text)', async () => {
    const [row] = (await writer.one(insert(2, 'it\'s "quoted"\n'))) as Record<string, unknown>[];
    expect(row).toEqual({
      id: 2,
      note: 'it\'s "quoted"\n',
      at: new Date(Date.UTC(2026, 10, 29, 12, 0, 2)),
      flag: true,
    });
    expect(await writer.one(insert(3, null))).toEqual([
      { id: 3, note: null, at: new Date(Date.UTC(2026, 10, 29, 12, 0, 3)), flag: false },
    ]);
    expect(await writer.one({ sql: 'SELECT count(*)::int AS n FROM t WHERE id > $1', params: [0] })).toEqual([
      { n: 2 },
    ]);
  });

  it('parses each statement once: later calls reuse the prepared statement', async () => {
    for (let i = 1; i <= 5; i++) await writer.one(insert(i, 'x'));
    await writer.many([insert(6, 'y'), insert(7, 'y'), { sql: 'DELETE FROM t WHERE id = $1', params: [1] }]);
    const prepared = await db.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements');
    expect(prepared.rows.map((r) => r.statement).sort()).toEqual(
      ['DELETE FROM t WHERE id = $1', insert(0, null).sql].sort(),
    );
    expect(await ids()).toEqual([2, 3, 4, 5, 6, 7]);
  });

  it('a batch is all or nothing: a failing statement rolls back the ones before it', async () => {
    await writer.one(insert(1, 'first'));
    const failed = writer.many([insert(2, 'a'), insert(3, 'b'), insert(1, 'duplicate')]);
    await expect(failed).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).toEqual([1]);
    // The session is usable afterwards, and the statement still prepared.
    expect(await writer.many([insert(2, 'a'), insert(3, 'b')])).toHaveLength(2);
    expect(await ids()).toEqual([1, 2, 3]);
  });

  it('one result per statement, in order, also for statements that return no rows', async () => {
    const out = await writer.many([
      insert(1, 'a'),
      { sql: 'UPDATE t SET note = $2 WHERE id = $1', params: [1, 'b'] },
      { sql: 'SELECT note FROM t WHERE id = $1', params: [1] },
    ]);
    expect(out).toEqual([
      [{ id: 1, note: 'a', at: new Date(Date.UTC(2026, 10, 29, 12, 0, 1)), flag: false }],
      [],
      [{ note: 'b' }],
    ]);
  });

  it("never runs inside another caller's open transaction (its rollback cannot undo these writes)", async () => {
    let inside!: () => void;
    let finish!: () => void;
    const entered = new Promise<void>((r) => (inside = r));
    const hold = new Promise<void>((r) => (finish = r));
    const other = db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO t (id, at, flag) VALUES (100, now(), true)');
        inside();
        await hold;
        throw new Error('rolled back on purpose');
      })
      .catch((e: Error) => e.message);
    await entered;
    const mine = writer.one(insert(1, 'mine'));
    finish();
    expect(await other).toBe('rolled back on purpose');
    await mine;
    expect(await ids()).toEqual([1]);
  });
});
