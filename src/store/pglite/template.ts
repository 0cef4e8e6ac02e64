import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { packagePath } from '../../platform/package-path.js';

/**
 * A freshly initialised, empty Postgres cluster for PGlite, made once by the build
 * (`scripts/pglite-template.mjs`) and loaded whenever the embedded store opens a cluster that does
 * not exist yet. Why: PGlite runs initdb inside the process for a new cluster, which costs 3-5 s
 * of CPU and a memory peak the bridge keeps as RSS; loading the same cluster from a tarball takes
 * about 1 s. The template holds no schema (migrations still run as for any new cluster), so it
 * depends only on the PGlite release, which its key records; a template of another release, or
 * none (running from the sources without a build), means initdb as before.
 */
export const TEMPLATE_FILE = packagePath('dist/pglite-template/cluster.tar.gz');
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

/**
 * The template cluster as PGlite's `loadDataDir` takes it, or undefined when there is none for
 * this release or it does not inflate (initdb then). `tar`: the 40 MB archive, inflated here.
 * `gzip`: the 4.5 MB file as it is, which PGlite inflates itself (its loader recognises the type):
 * about 0.4 s of CPU less per open than handing it the tar, whose copies into and out of a Blob
 * cost more than inflating. Its content is checked once per process (inflated and dropped, about
 * 0.2 s): PGlite's loader would fail on a damaged one with a rejection nobody handles.
 */
export function loadTemplate(
  form: 'tar' | 'gzip',
  file = TEMPLATE_FILE,
  keyFile = TEMPLATE_KEY_FILE,
): Blob | undefined {
  if (form === 'tar') {
    const tar = templateTar(file, keyFile);
    return tar && new Blob([tar]);
  }
  const gz = templateGzip(file, keyFile);
  return gz && inflates(gz) ? new Blob([gz], { type: 'application/gzip' }) : undefined;
}

/** Digests of the template contents found to inflate in this process. */
const inflated = new Set<string>();

function inflates(gz: Buffer): boolean {
  const digest = createHash('sha256').update(gz).digest('hex');
  if (inflated.has(digest)) return true;
  try {
    gunzipSync(gz);
  } catch {
    return false;
  }
  inflated.add(digest);
  return true;
}

/**
 * Writes the template cluster's files as a new data directory `dataDir`, which PGlite then opens
 * as an existing cluster. Why not PGlite's `loadDataDir` for a directory: it keeps copies of the
 * 40 MB tarball that the process holds as RSS (a new directory stayed about 120 MiB above an
 * existing one, scripts/bench/process-footprint.ts), and it is slower than opening the files.
 * The files go to a sibling first, renamed into place at the end, so a crash never leaves a
 * half-written cluster that looks like one. Returns false, writing nothing, when there is no
 * template for this release or `dataDir` exists (PGlite then loads or initialises the cluster).
 */
export function writeTemplateCluster(dataDir: string, file = TEMPLATE_FILE, keyFile = TEMPLATE_KEY_FILE): boolean {
  if (existsSync(dataDir)) return false;
  const tar = templateTar(file, keyFile);
  if (!tar) return false;
  const staging = `${dataDir}.template-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    for (const entry of tarEntries(tar)) {
      // Entries are named from the cluster's root ("/base/1/112"); none may leave it.
      const path = resolve(staging, `.${sep}${entry.name}`);
      if (path !== staging && !path.startsWith(staging + sep))
        throw new Error(`template entry "${entry.name}" is outside the cluster`);
      if (entry.type === '5') mkdirSync(path, { recursive: true, mode: entry.mode });
      else if (entry.type === '0') {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        writeFileSync(path, entry.data, { mode: entry.mode });
      } else throw new Error(`template entry "${entry.name}" is of tar type "${entry.type}"`);
    }
    renameSync(staging, dataDir);
    return true;
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** The template's gzipped tarball, or undefined when there is none for this release. */
function templateGzip(file: string, keyFile: string): Buffer | undefined {
  try {
    if (readFileSync(keyFile, 'utf8').trim() !== templateKey()) return undefined;
    return readFileSync(file);
  } catch {
    return undefined; // absent or unreadable: initdb, exactly as without a template
  }
}

/** The template's tarball, or undefined when there is none for this release or it does not inflate. */
function templateTar(file: string, keyFile: string): Buffer | undefined {
  const gz = templateGzip(file, keyFile);
  try {
    return gz && gunzipSync(gz);
  } catch {
    return undefined; // damaged: initdb, exactly as without a template
  }
}

/**
 * The entries of a ustar archive (what PGlite's `dumpDataDir` writes: directories, regular files,
 * 512-byte headers with octal sizes and modes); the data are views into `tar`.
 */
function* tarEntries(tar: Buffer): Generator<{ name: string; type: string; mode: number; data: Buffer }> {
  let at = 0;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) return; // the end-of-archive block
    const field = (start: number, length: number) => header.toString('utf8', start, start + length).split('\0')[0]!;
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const mode = parseInt(field(100, 8).trim() || '600', 8);
    if (!Number.isSafeInteger(size) || at + 512 + size > tar.length)
      throw new Error(`template entry "${name}" is cut short`);
    yield { name, type: field(156, 1) || '0', mode, data: tar.subarray(at + 512, at + 512 + size) };
    at += 512 + Math.ceil(size / 512) * 512;
  }
}
