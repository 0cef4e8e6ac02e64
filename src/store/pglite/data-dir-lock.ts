import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '../../platform/errors.js';

/** How long an open waits for another process holding the data directory when `store.lockWaitMs` is not set. */
export const DEFAULT_LOCK_WAIT_MS = 10_000;

/**
 * An exclusive lock on a PGlite data directory across processes. PGlite is Postgres in one
 * process with no server in front: two processes opening the same directory corrupt it. The
 * lock is a sibling file `<dataDir>.lock`, created with O_EXCL and holding the owner's pid and
 * host. A lock left by a dead process on this host is taken over; a live owner is waited for
 * up to `waitMs`, then the open fails with a message naming the owner.
 */
export class DataDirLock {
  private constructor(readonly path: string) {}

  /** `signal` ends the wait early (the open is no longer wanted): the promise rejects with its reason. */
  static async acquire(dataDir: string, waitMs: number, pollMs = 100, signal?: AbortSignal): Promise<DataDirLock> {
    const path = `${dataDir.replace(/\/+$/, '')}.lock`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      signal?.throwIfAborted();
      if (tryCreate(path)) return new DataDirLock(path);
      const owner = readOwner(path);
      if (owner && owner.host === hostname() && !isAlive(owner.pid)) {
        // The owner died without cleaning up: remove its file and race for a fresh one.
        tryUnlink(path);
        continue;
      }
      if (!owner && unreadableFor(path, pollMs * 10)) {
        // Empty or garbage for longer than a creator needs between create and write: a crash
        // (or a full disk) left it. Nobody can ever be told to stop, so it is taken over.
        tryUnlink(path);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = owner ? `process ${owner.pid} on ${owner.host}` : 'another process';
        throw new ServiceError(
          'store.unavailable',
          `the embedded database ${dataDir} is in use by ${who} (lock file ${path}); ` +
            'stop that process (only one process may open a PGlite data directory) or point store.dataDir elsewhere',
          { op: 'store.open', details: { dataDir, lockFile: path } },
        );
      }
      await sleep(pollMs, undefined, { signal });
    }
  }

  release(): void {
    tryUnlink(this.path);
  }
}

function tryCreate(path: string): boolean {
  try {
    const fd = openSync(path, 'wx');
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname() }));
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new ServiceError(
      'store.unavailable',
      `cannot create the lock file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      { op: 'store.open', cause: e },
    );
  }
}

function readOwner(path: string): { pid: number; host: string } | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { pid?: unknown; host?: unknown };
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string'
      ? { pid: parsed.pid, host: parsed.host }
      : undefined;
  } catch {
    // Gone in the meantime, or caught between create and write: treat as live and retry.
    return undefined;
  }
}

/** True when the lock file holds no owner and was last written more than `ms` ago. */
function unreadableFor(path: string, ms: number): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs > ms;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryUnlink(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already removed by its owner or a competing taker.
  }
}
