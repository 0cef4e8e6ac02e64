import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleSources } from '../helpers/bundle-inputs.js';
import { assertBuildFresh, BIN } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tracer = join(import.meta.dirname, '..', 'helpers', 'trace-modules.mjs');

/** Runs the built CLI and returns every module it loaded (ES modules, CommonJS, and the sources of each bundle chunk). */
function loadedModules(args: string[]): { code: number | null; modules: string[] } {
  assertBuildFresh();
  const file = join(dir, `${args.join('_').replace(/\W/g, '')}.txt`);
  const r = spawnSync(process.execPath, ['--import', tracer, BIN, ...args], {
    env: { ...process.env, TRACE_MODULES_FILE: file },
    encoding: 'utf8',
  });
  return { code: r.status, modules: bundleSources(readFileSync(file, 'utf8').split('\n').filter(Boolean)) };
}

const dependencies = (modules: string[]) => modules.filter((m) => m.includes('/node_modules/'));

describe('ecm-bridge --help and version load no dependency', () => {
  it.each(['--help', 'version', '--version', 'serve --help', 'db migrate -h'])(
    'ecm-bridge %s loads only its own modules (no PGlite, mssql, tedious, fastify, undici, pino, zod)',
    (argv) => {
      const r = loadedModules(argv.split(' '));
      expect(r.code).toBe(0);
      expect(r.modules.some((m) => m.endsWith('/dist/bundle/main.js'))).toBe(true);
      expect(dependencies(r.modules)).toEqual([]);
    },
  );

  it('sees the dependencies a command that runs does load (the trace is not blind)', () => {
    const r = loadedModules(['config', 'validate', join(dir, 'missing.yaml')]);
    expect(r.code).not.toBe(0);
    expect(dependencies(r.modules).some((m) => m.includes('/node_modules/zod/'))).toBe(true);
  });
});
