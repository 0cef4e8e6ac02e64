import { describe, expect, it } from 'vitest';
import { GroupCommit, type BatchWriter } from '../../../src/store/pglite/group-commit.js';
import { HANG } from '../../helpers/until.js';

/**
 * A writer standing in for the database: records what it was asked to write together and alone,
 * and fails any batch holding a statement named "bad" (as a transaction with one failing
 * statement rolls back). The adapters' behaviour is held by the store contract suite.
 */
function recordingWriter(): BatchWriter<string, string> & { calls: string[][]; release?: () => void } {
  const w = {
    calls: [] as string[][],
    release: undefined as (() => void) | undefined,
    async one(s: string) {
      w.calls.push([s]);
      if (s === 'bad') throw new Error('bad statement');
      return `done ${s}`;
    },
    async many(list: readonly string[]) {
      w.calls.push([...list]);
      if (list.includes('slow')) await new Promise<void>((r) => (w.release = r));
      if (list.includes('bad')) throw new Error('rolled back');
      return list.map((s) => `done ${s}`);
    },
  };
  return w;
}

describe('GroupCommit', () => {
  it('writes the statements of concurrent callers as one batch, each caller getting its own result', async () => {
    const w = recordingWriter();
    const g = new GroupCommit(w);
    const results = await Promise.all(['a', 'b', 'c'].map((s) => g.submit(s)));
    expect(results).toEqual(['done a', 'done b', 'done c']);
    expect(w.calls).toEqual([['a', 'b', 'c']]);
    expect(g.stats).toEqual({ batches: 1, statements: 3 });
  });

  it('a lone statement is written alone', async () => {
    const w = recordingWriter();
    expect(await new GroupCommit(w).submit('x')).toBe('done x');
    expect(w.calls).toEqual([['x']]);
  });

  it('statements submitted while a batch is being written form the next batch', async () => {
    const w = recordingWriter();
    const g = new GroupCommit(w);
    const first = Promise.all([g.submit('slow'), g.submit('a')]);
    await expect.poll(() => w.release, HANG).toBeDefined();
    const second = Promise.all([g.submit('b'), g.submit('c')]);
    w.release!();
    expect(await first).toEqual(['done slow', 'done a']);
    expect(await second).toEqual(['done b', 'done c']);
    expect(w.calls).toEqual([
      ['slow', 'a'],
      ['b', 'c'],
    ]);
  });

  it('a failing statement fails only its caller: the rolled-back batch is written again one by one', async () => {
    const w = recordingWriter();
    const g = new GroupCommit(w);
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((s) => g.submit(s)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 'done a' },
      { status: 'rejected', reason: new Error('bad statement') },
      { status: 'fulfilled', value: 'done c' },
    ]);
    expect(w.calls).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('bounds a batch', async () => {
    const w = recordingWriter();
    const g = new GroupCommit(w, 2);
    await Promise.all(['a', 'b', 'c'].map((s) => g.submit(s)));
    expect(w.calls).toEqual([['a', 'b'], ['c']]);
  });
});
