import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuildFresh, runCliInProcess } from '../../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'ecm-log-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether a fresh process that logs one line in `format` has loaded pino-pretty. */
function loadsPretty(format: 'json' | 'pretty'): string {
  assertBuildFresh();
  const script = `
    import { createRequire } from 'node:module';
    const { createLogger } = await import(${JSON.stringify(join(ROOT, 'dist', 'platform', 'logger.js'))});
    createLogger({ level: 'info', format: '${format}' }).info('one line');
    const cache = createRequire(import.meta.url).cache;
    process.stderr.write(String(Object.keys(cache).some((k) => k.includes('pino-pretty'))));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stderr;
}

describe('log.format', () => {
  it('json mode never loads pino-pretty; pretty mode does', () => {
    expect(loadsPretty('json')).toBe('false');
    expect(loadsPretty('pretty')).toBe('true');
  });

  it('the config file chooses the format of a command that logs', async () => {
    const write = (name: string, format: string) => {
      const file = join(dir, name);
      writeFileSync(
        file,
        `store: { kind: embedded, dataDir: "memory://" }\nlog: { level: debug, format: ${format} }\n`,
      );
      return file;
    };
    const pretty = await runCliInProcess(['db', 'migrate', '--config', write('pretty.yaml', 'pretty')]);
    expect(pretty.code).toBe(0);
    expect(pretty.stderr).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO): /m);
    expect(pretty.stderr).not.toContain('"level":');
  });
});
