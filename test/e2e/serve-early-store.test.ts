import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataDirLock } from '../../src/store/pglite/data-dir-lock.js';
import { bundleSources } from '../helpers/bundle-inputs.js';
import { assertBuildFresh, BIN, runBuiltCli, startBuiltCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-early-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tracer = join(import.meta.dirname, '..', 'helpers', 'trace-modules.mjs');

/** A config whose store section is valid and names `dataDir`, with one problem elsewhere (exit 78). */
function invalidConfig(name: string, store: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `store:\n${store}\nhttp: { port: 0 }\nunknownSection: 1\n`);
  return file;
}

describe('ecm-bridge serve opens the embedded store while the rest of the bridge loads', () => {
  it('begins opening PGlite before the config schema (zod) loads; an invalid config closes that store and frees its lock', async () => {
    assertBuildFresh();
    const dataDir = join(dir, 'early');
    const file = invalidConfig('early', `  kind: embedded\n  dataDir: early`);
    const trace = join(dir, 'early-modules.txt');
    const r = spawnSync(process.execPath, ['--import', tracer, BIN, 'serve', '--config', file], {
      env: { ...process.env, TRACE_MODULES_FILE: trace },
      encoding: 'utf8',
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/unknownSection/);
    const modules = bundleSources(readFileSync(trace, 'utf8').split('\n'));
    const pglite = modules.findIndex((m) => m.includes('/node_modules/@electric-sql/pglite/'));
    const zod = modules.findIndex((m) => m.includes('/node_modules/zod/'));
    expect(pglite).toBeGreaterThanOrEqual(0);
    expect(zod).toBeGreaterThan(pglite);
    // The relative dataDir resolved against the config file's directory, as the schema does.
    expect(existsSync(join(dir, 'early.lock'))).toBe(false);
    expect(existsSync(join(process.cwd(), 'early.lock'))).toBe(false);
    // Whatever the early open got to, nothing holds the directory now.
    (await DataDirLock.acquire(dataDir, 0)).release();
  });

  it('a valid config: the store unit takes the early open (logged), SIGTERM frees its lock; no JSON-schema compiler loads', async () => {
    const dataDir = join(dir, 'taken');
    const file = join(dir, 'taken.yaml');
    writeFileSync(
      file,
      `store:\n  kind: embedded\n  dataDir: taken\nreporting:\n  enabled: false\nhttp: { port: 0 }\n`,
    );
    const trace = join(dir, 'taken-modules.txt');
    const child = startBuiltCli(['serve', '--config', file, '--grace-ms', '1000'], {
      NODE_OPTIONS: `--import ${tracer}`,
      TRACE_MODULES_FILE: trace,
    });
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    try {
      expect(await child.waitFor(/[^\n]*"msg":"store ready"[^\n]*/)).toContain('"openedEarly":true');
      await child.waitFor(/ecm-bridge started/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    // The ops server declares no JSON schemas, so fastify's compilers (ajv, fast-json-stringify) never
    // load; fastify's error serializer still uses fast-json-stringify's small runtime.
    const modules = bundleSources(readFileSync(trace, 'utf8').split('\n'));
    expect(modules.some((m) => m.includes('/node_modules/fastify/'))).toBe(true);
    const compilers = /\/node_modules\/(ajv\/|@fastify\/ajv-compiler\/|fast-json-stringify\/index\.js)/;
    expect(modules.filter((m) => compilers.test(m))).toEqual([]);
  });

  it('an invalid config ends a wait for a data directory another process holds (exit 78 at once, that lock untouched)', async () => {
    const dataDir = join(dir, 'held');
    const held = await DataDirLock.acquire(dataDir, 0);
    try {
      const file = invalidConfig('held', `  kind: embedded\n  dataDir: ${dataDir}\n  lockWaitMs: 600000`);
      const r = await runBuiltCli(['serve', '--config', file]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/unknownSection/);
      expect(JSON.parse(readFileSync(`${dataDir}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      held.release();
    }
  });
});
