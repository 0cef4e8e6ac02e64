import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { PgliteStore } from '../../../src/store/pglite-store.js';
import { loadTemplate, TEMPLATE_FILE, templateKey } from '../../../src/store/pglite-template.js';
import { StoreMetrics } from '../../../src/store/store-metrics.js';

const open = (dataDir: string) =>
  PgliteStore.open(dataDir, 0, silentLogger(), new StoreMetrics(createMetricsRegistry(), 'pglite'));

async function origin(store: PgliteStore): Promise<string | null> {
  const r = await store.db.query<{ c: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'postgres'",
  );
  return r.rows[0]!.c;
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

  it('a template of another PGlite release, or none, is not loaded (initdb as before)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgtpl-'));
    const [file, key] = [join(dir, 'cluster.tar.gz'), join(dir, 'cluster.key')];
    expect(loadTemplate(file, key)).toBeUndefined();
    copyFileSync(TEMPLATE_FILE, file);
    writeFileSync(key, 'pglite 0.0.1\n');
    expect(loadTemplate(file, key)).toBeUndefined();
    writeFileSync(key, `${templateKey()}\n`);
    expect(loadTemplate(file, key)).toBeInstanceOf(Blob);
  });
});
