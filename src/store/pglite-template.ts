import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/**
 * A freshly initialised, empty Postgres cluster for PGlite, made once by the build
 * (`scripts/pglite-template.mjs`) and loaded whenever the embedded store opens a cluster that does
 * not exist yet. Why: PGlite runs initdb inside the process for a new cluster, which costs 3-5 s
 * of CPU and a memory peak the bridge keeps as RSS; loading the same cluster from a tarball takes
 * about 1 s. The template holds no schema (migrations still run as for any new cluster), so it
 * depends only on the PGlite release, which its key records; a template of another release, or
 * none (running from the sources without a build), means initdb as before.
 */
export const TEMPLATE_FILE = fileURLToPath(new URL('../../dist/pglite-template/cluster.tar.gz', import.meta.url));
/** The template's key (`templateKey()` when it was made), beside it. */
export const TEMPLATE_KEY_FILE = TEMPLATE_FILE.replace(/\.tar\.gz$/, '.key');

/** The key a template must carry to be loaded: the PGlite release it was made with. */
export function templateKey(): string {
  // The package exports no package.json; its entry point sits in `dist/` beside it.
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return `pglite ${pkg.version}`;
}

/** Whether `dataDir` (a directory, or memory) holds no cluster yet. */
export function isNewCluster(dataDir: string, inMemory: boolean): boolean {
  return inMemory || !existsSync(join(dataDir, 'PG_VERSION'));
}

/** The template cluster as PGlite's `loadDataDir` takes it, or undefined when there is none for this release. */
export function loadTemplate(file = TEMPLATE_FILE, keyFile = TEMPLATE_KEY_FILE): Blob | undefined {
  try {
    if (readFileSync(keyFile, 'utf8').trim() !== templateKey()) return undefined;
    return new Blob([gunzipSync(readFileSync(file))]);
  } catch {
    return undefined; // absent or unreadable: initdb, exactly as without a template
  }
}
