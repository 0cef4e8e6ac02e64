import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `.ci/run` in a copy of the checkout, with every command it runs replaced by a stub that records
 * its arguments: which Debian packages would it install when a tool is absent?
 */
const dir = mkdtempSync(join(tmpdir(), 'ecm-ci-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCi(tools: string[]): string[] {
  const root = mkdtempSync(join(dir, 'clone-'));
  const bin = join(root, 'bin');
  mkdirSync(join(root, '.ci'));
  mkdirSync(bin);
  copyFileSync('.ci/run', join(root, '.ci', 'run'));
  const log = join(root, 'calls.log');
  const stub = (name: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${log}"\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const name of ['node', 'npm', 'apt-get', ...tools]) stub(name);
  // sudo runs the command it is given (a stub too); id and dirname are the real ones.
  writeFileSync(join(bin, 'sudo'), '#!/bin/sh\nexec "$@"\n');
  chmodSync(join(bin, 'sudo'), 0o755);
  for (const real of ['id', 'dirname']) symlinkSync(`/usr/bin/${real}`, join(bin, real));
  const r = spawnSync('/bin/bash', [join(root, '.ci', 'run')], {
    env: { PATH: bin, MSSQL_URL: 'stub' },
    encoding: 'utf8',
  });
  expect(r.stderr).not.toMatch(/command not found/);
  expect(r.status).toBe(0);
  return readFileSync(log, 'utf8').trim().split('\n');
}

describe('.ci/run', () => {
  it('installs systemd (for systemd-analyze) when it is absent, after apt-get update', () => {
    const calls = runCi([]);
    const install = calls.findIndex((c) => c.startsWith('apt-get install -y'));
    expect(calls.indexOf('apt-get update')).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf('apt-get update')).toBeLessThan(install);
    expect(calls[install]!.split(' ')).toContain('systemd');
    expect(calls).toContain('npm test');
  });

  it('installs nothing for systemd-analyze when it is there', () => {
    const calls = runCi(['systemd-analyze']);
    expect(
      calls
        .filter((c) => c.startsWith('apt-get install'))
        .join(' ')
        .split(' '),
    ).not.toContain('systemd');
  });
});
