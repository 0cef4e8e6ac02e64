import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuildFresh, runCliInProcess as runCli, type CliResult } from '../helpers/cli.js';

/** Fills in secrets.env as an administrator would, and reads it back as systemd's EnvironmentFile does. */
function fillSecrets(file: string): Record<string, string> {
  const filled = readFileSync(file, 'utf8').replace(/^(\w+)=$/gm, (_, name: string) =>
    name.endsWith('CREDENTIAL_ID_KEY') ? `${name}=${'k'.repeat(48)}` : `${name}=a-secret-value`,
  );
  writeFileSync(file, filled);
  return Object.fromEntries(
    filled
      .split('\n')
      .filter((l) => /^\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('ecm-bridge config init', () => {
  it('writes a commented starting config that validates once its secrets are filled, and never overwrites', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-init-'));
    const file = join(dir, 'etc', 'ecm-bridge', 'config.yaml');
    const r = await runCli(['config', 'init', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# ecm-bridge starting configuration/);
    expect(text).toContain('Enable XML API');
    // Before the secrets exist, validate names each missing file.
    const secrets = join(dir, 'etc', 'ecm-bridge', 'secrets.env');
    expect(statSync(secrets).mode & 0o777).toBe(0o600);
    expect(r.stdout).toContain(`wrote ${secrets} (mode 0600)`);
    // Before the secrets are filled in, validate names each missing one with its line.
    const before = await runCli(['config', 'validate', file], { ECM_BRIDGE_CREDENTIAL_ID_KEY: '' });
    expect(before.code).toBe(78);
    expect(before.stderr).toContain('broker.credentialIdKey');
    const env = fillSecrets(secrets);
    expect(Object.keys(env)).toEqual([
      'ECM_BRIDGE_SITE_CLIENT_SECRET',
      'ECM_BRIDGE_PS_API_KEY',
      'ECM_BRIDGE_CREDENTIAL_ID_KEY',
    ]);
    const after = await runCli(['config', 'validate', file], env);
    expect(after.stderr).toBe('');
    expect(after.stdout).toContain(`${file}: OK (1 site(s), store embedded)`);
    writeFileSync(file, 'mine: true\n');
    const again = await runCli(['config', 'init', file]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists; not overwritten (add --force to replace it)');
    expect(readFileSync(file, 'utf8')).toBe('mine: true\n');
    const forced = await runCli(['config', 'init', file, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(text);
    // The filled-in secrets are never overwritten.
    expect(forced.stdout).toContain(`kept ${secrets} as it is`);
    expect(readFileSync(secrets, 'utf8')).toContain('ECM_BRIDGE_PS_API_KEY=a-secret-value');
  });

  it('works from an installed release: only the folders the package ships, no src/', async () => {
    assertBuildFresh();
    const root = join(import.meta.dirname, '..', '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
    const installed = mkdtempSync(join(tmpdir(), 'ecm-installed-'));
    for (const f of pkg.files) cpSync(join(root, f), join(installed, f), { recursive: true });
    cpSync(join(root, 'package.json'), join(installed, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'), 'dir');
    const file = join(installed, 'out', 'config.yaml');
    const r = await new Promise<CliResult>((done, fail) => {
      const child = spawn(process.execPath, [join(installed, 'bin', 'ecm-bridge.js'), 'config', 'init', file]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', fail);
      child.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(join(root, 'deploy', 'config.yaml'), 'utf8'));
  });
});
