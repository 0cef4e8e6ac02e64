import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { MEMORY_DATA_DIR, openPgliteCluster } from '../../../src/store/pglite/cluster.js';
import { PgliteStore } from '../../../src/store/pglite/store.js';
import { loadTemplate, TEMPLATE_FILE, templateKey, writeTemplateCluster } from '../../../src/store/pglite/template.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';

const open = (dataDir: string) =>
  PgliteStore.open(dataDir, 0, silentLogger(), new StoreMetrics(createMetricsRegistry(), 'pglite'));

async function origin(store: PgliteStore): Promise<string | null> {
  const r = await store.db.query<{ c: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'postgres'",
  );
  return r.rows[0]!.c;
}

/** A gzipped ustar archive of regular files (enough to hand the reader a bad entry). */
function tarGz(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, text] of Object.entries(files)) {
    const header = Buffer.alloc(512);
    header.write(name, 0);
    header.write('0000600\0', 100);
    header.write(`${text.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write('0', 156);
    header.write('ustar\x0000', 257);
    blocks.push(header, Buffer.alloc(Math.ceil(text.length / 512) * 512));
    blocks.at(-1)!.write(text);
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

describe('PGlite cluster template (made by the build)', () => {
  it('a new cluster is the template, migrated from 0; an existing cluster is opened as it is', async () => {
    // (memory:// takes the same path: every other PGlite suite opens one)
    const dir = join(mkdtempSync(join(tmpdir(), 'pgtpl-')), 'db');
    const store = await open(dir);
    try {
      expect(await origin(store)).toBe(`ecm-bridge cluster template (${templateKey()})`);
      expect(await store.schemaVersion()).toBe(0);
      await store.migrate();
    } finally {
      await store.close();
    }
    const again = await open(dir);
    try {
      expect(await again.schemaVersion()).toBeGreaterThan(0);
    } finally {
      await again.close();
    }
  });

  it('a new data directory is written from the template files, renamed into place; an existing one is left alone', () => {
    const parent = mkdtempSync(join(tmpdir(), 'pgtpl-'));
    const dir = join(parent, 'db');
    expect(writeTemplateCluster(dir)).toBe(true);
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(parent)).toEqual(['db']); // no staging directory left
    expect(writeTemplateCluster(dir)).toBe(false);
  });

  it('a template entry outside the cluster is refused and nothing is left behind', () => {
    const parent = mkdtempSync(join(tmpdir(), 'pgtpl-'));
    const [file, key] = [join(parent, 'bad.tar.gz'), join(parent, 'bad.key')];
    writeFileSync(file, tarGz({ '/PG_VERSION': '18\n', '/../escaped': 'x' }));
    writeFileSync(key, `${templateKey()}\n`);
    expect(() => writeTemplateCluster(join(parent, 'db'), file, key)).toThrow(
      'template entry "/../escaped" is outside the cluster',
    );
    expect(readdirSync(parent).sort()).toEqual(['bad.key', 'bad.tar.gz']);
  });

  it('a template of another PGlite release, or none, is not loaded (initdb as before)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtpl-'));
    const [file, key] = [join(dir, 'cluster.tar.gz'), join(dir, 'cluster.key')];
    expect(loadTemplate('tar', file, key)).toBeUndefined();
    copyFileSync(TEMPLATE_FILE, file);
    writeFileSync(key, 'pglite 0.0.1\n');
    expect(loadTemplate('tar', file, key)).toBeUndefined();
    writeFileSync(key, `${templateKey()}\n`);
    expect(loadTemplate('tar', file, key)).toBeInstanceOf(Blob);
    // For memory, the file itself, typed so PGlite's loader inflates it.
    const gz = loadTemplate('gzip', file, key)!;
    expect([gz.type, gz.size]).toEqual(['application/gzip', statSync(file).size]);
    // A damaged gzip is not loaded in either form (initdb).
    writeFileSync(file, Buffer.from('not a gzip'));
    expect(loadTemplate('tar', file, key)).toBeUndefined();
    expect(loadTemplate('gzip', file, key)).toBeUndefined();
  });

  it('a memory cluster whose template gzip does not inflate is made by initdb instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtpl-'));
    const [file, key] = [join(dir, 'cluster.tar.gz'), join(dir, 'cluster.key')];
    writeFileSync(file, Buffer.from('not a gzip'));
    writeFileSync(key, `${templateKey()}\n`);
    const cluster = await openPgliteCluster(MEMORY_DATA_DIR, 0, undefined, file, key);
    try {
      const r = await cluster.db.query<{ c: string | null }>(
        "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'postgres'",
      );
      expect(r.rows[0]!.c).not.toContain('ecm-bridge cluster template'); // initdb's cluster
    } finally {
      await cluster.close();
    }
  });

  it('a memory cluster is the template too, loaded by PGlite from the gzip', async () => {
    const store = await open('memory://');
    try {
      expect(await origin(store)).toBe(`ecm-bridge cluster template (${templateKey()})`);
    } finally {
      await store.close();
    }
  });
});
