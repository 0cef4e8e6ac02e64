import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { EarlyStoreOpen } from '../../../src/app/early-store.js';
import { openStore } from '../../../src/app/open-store.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { DataDirLock } from '../../../src/store/pglite/data-dir-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-early-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const deps = () => ({ log: silentLogger(), metrics: createMetricsRegistry({ defaultMetrics: false }) });

function configFile(name: string, store: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `store:\n${store}\n`);
  return file;
}

describe("serve's early store open (src/app/early-store.ts)", () => {
  it("is taken by the validated config naming the same directory (a relative dataDir resolves as the schema's does)", async () => {
    const file = configFile('same', '  kind: embedded\n  dataDir: same-db\n  lockWaitMs: 0');
    const early = await EarlyStoreOpen.begin(file);
    const config = loadConfigFile(file).store;
    expect(config).toMatchObject({ dataDir: join(dir, 'same-db') });
    const cluster = await early.take(config);
    expect(cluster).toBeDefined();
    expect(await early.take(config)).toBeUndefined(); // only once
    // The open holds the directory: a second open in this process (lockWaitMs 0) is refused.
    await expect(openStore(config, deps())).rejects.toThrow(/in use by process/);
    await cluster!.close();
    (await DataDirLock.acquire(join(dir, 'same-db'), 0)).release();
  });

  it('is closed, its lock released, when the validated config names another directory; the store opens that one', async () => {
    const file = configFile('other', `  kind: embedded\n  dataDir: ${join(dir, 'early-db')}`);
    const early = await EarlyStoreOpen.begin(file);
    const store = await openStore({ kind: 'embedded', dataDir: 'memory://' }, deps(), early);
    try {
      expect(await store.schemaVersion()).toBe(0);
      (await DataDirLock.acquire(join(dir, 'early-db'), 0)).release();
    } finally {
      await store.close();
    }
  });
});
