import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuildFresh } from '../../helpers/cli.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

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
});
