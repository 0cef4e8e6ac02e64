import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { isServiceError, ServiceError } from '../../platform/errors.js';
import { DataDirLock } from './data-dir-lock.js';
import { isNewCluster, loadTemplate, TEMPLATE_FILE, TEMPLATE_KEY_FILE, writeTemplateCluster } from './template.js';

export const MEMORY_DATA_DIR = 'memory://';

/**
 * Postgres memory settings for a bridge's state store rather than a database server: the buffer
 * pool lives in PGlite's WebAssembly memory, which grows to fit and never shrinks, so Postgres'
 * defaults (128 MB shared buffers, 64 MB maintenance memory) cost RSS the bridge never uses.
 * Measured in scripts/bench/process-footprint.ts.
 */
export const PGLITE_START_PARAMS = [
  ...PGlite.defaultStartParams,
  ...['shared_buffers=16MB', 'temp_buffers=2MB', 'maintenance_work_mem=16MB', 'work_mem=4MB'].flatMap((s) => ['-c', s]),
];

/** An open PGlite cluster and the data-directory lock it holds; nothing of the bridge's schema yet. */
export interface PgliteCluster {
  readonly db: PGlite;
  /** Closes the database, then releases the lock (also when closing fails). */
  close(): Promise<void>;
}

/**
 * Opens (creating when absent) a PGlite data directory under its lock file, waiting up to
 * `lockWaitMs` for another process holding it. Kept apart from the store so `serve` can begin
 * this, the slow part of its start-up, before the rest of the application has loaded (see
 * src/app/early-store.ts); `signal` gives such an open up while it waits for the lock. The
 * template's files are the build's unless a test names others.
 */
export async function openPgliteCluster(
  dataDir: string,
  lockWaitMs: number,
  signal?: AbortSignal,
  templateFile = TEMPLATE_FILE,
  templateKeyFile = TEMPLATE_KEY_FILE,
): Promise<PgliteCluster> {
  const inMemory = dataDir === MEMORY_DATA_DIR;
  const dir = inMemory ? dataDir : resolve(dataDir);
  const failed = (e: unknown) =>
    isServiceError(e)
      ? e
      : new ServiceError(
          'store.unavailable',
          `cannot open the embedded database at ${dir}: ${describeOpenFailure(e)}`,
          {
            op: 'store.open',
            cause: e,
          },
        );
  let dirLock: DataDirLock | undefined;
  try {
    if (!inMemory) {
      mkdirSync(dirname(dir), { recursive: true });
      dirLock = await DataDirLock.acquire(dir, lockWaitMs, undefined, signal);
    }
  } catch (e) {
    throw failed(e);
  }
  try {
    // A new directory is written from the template's files; in memory, PGlite loads the template itself.
    const loadsTemplate =
      isNewCluster(dir, inMemory) && (inMemory || !writeTemplateCluster(dir, templateFile, templateKeyFile));
    const template = loadsTemplate ? loadTemplate(inMemory ? 'gzip' : 'tar', templateFile, templateKeyFile) : undefined;
    const db = await PGlite.create(dir, {
      startParams: PGLITE_START_PARAMS,
      ...(template ? { loadDataDir: template } : {}),
    });
    return {
      db,
      close: async () => {
        try {
          if (!db.closed) await db.close();
        } finally {
          dirLock?.release();
        }
      },
    };
  } catch (e) {
    dirLock?.release();
    throw failed(e);
  }
}

/**
 * PGlite can fail opening a damaged or foreign directory by aborting its WASM instance, which
 * throws something without a message; the operator still needs a sentence.
 */
function describeOpenFailure(e: unknown): string {
  if (e instanceof Error && e.message) return e.message;
  const status = (e as { status?: unknown } | undefined)?.status;
  return `PGlite stopped without a reason${status === undefined ? '' : ` (status ${String(status)})`}; the directory may be damaged or not a PGlite data directory`;
}
