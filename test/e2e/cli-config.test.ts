import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBuiltCli, runCliInProcess as runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('ecm-bridge config validate|print', () => {
  it('accepts the example configuration', async () => {
    const r = await runCli(['config', 'validate', 'config/ecm-bridge.example.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it("checks store.caFile as it checks the sites' and the vault's: it must exist and hold a PEM certificate", async () => {
    const cfg = file(
      'store-ca.yaml',
      [
        'store:',
        '  kind: mssql',
        '  server: db',
        '  user: u',
        '  password: env:ECM_TEST_DB_PASSWORD',
        `  caFile: ${join(dir, 'no-such-ca.pem')}`,
        '',
      ].join('\n'),
    );
    const r = await runCli(['config', 'validate', cfg], { ECM_TEST_DB_PASSWORD: 'pw' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/store-ca\.yaml:6:\d+: store\.caFile: /);
  });

  it('names an unknown key, a wrong type, a missing env var and a bad cron, with path and line', async () => {
    const bad = file(
      'bad.yaml',
      [
        'log:',
        '  levl: debug',
        'http:',
        '  port: "x"',
        'store:',
        '  kind: mssql',
        '  server: db',
        '  user: u',
        '  password: env:ECM_TEST_MISSING_VAR',
        'reporting:',
        '  schedule: "61 * * * *"',
        '',
      ].join('\n'),
    );
    const r = await runCli(['config', 'validate', bad], { ECM_TEST_MISSING_VAR: '' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/bad\.yaml:2:3: log\.levl: unknown key "levl" \(did you mean "level"\?\)/);
    expect(r.stderr).toMatch(/bad\.yaml:4:9: http\.port: /);
    expect(r.stderr).toMatch(/bad\.yaml:9:13: store\.password: environment variable ECM_TEST_MISSING_VAR is not set/);
    expect(r.stderr).toMatch(/bad\.yaml:11:13: reporting\.schedule: is not a valid cron expression/);
    expect(r.stderr).toContain('4 problem(s) found');
  });

  it('prints the effective config with secrets redacted and their origin', async () => {
    const f = file('ok.yaml', 'store:\n  kind: mssql\n  server: db\n  user: u\n  password: env:ECM_TEST_DB_PW\n');
    const r = await runCli(['config', 'print', f], { ECM_TEST_DB_PW: 'db-password-value' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('password: "[REDACTED from env:ECM_TEST_DB_PW]"');
    expect(r.stdout).toContain('port: 1433');
    expect(r.stdout).not.toContain('db-password-value');
  });

  it('exits 2 with usage on bad arguments and 0 on --help', async () => {
    expect((await runCli(['config', 'validate'])).code).toBe(2);
    expect((await runCli(['nonsense'])).code).toBe(2);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes');
    expect((await runCli(['serve', '--bogus'])).code).toBe(2);
  });

  it("the installed binary exits with the command's status and flushes its output", async () => {
    const bad = file('bad-level.yaml', 'log:\n  level: loud\n');
    const r = await runBuiltCli(['config', 'validate', bad]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/bad-level\.yaml:2:10: log\.level: /);
    expect(r.stderr).toContain('1 problem(s) found');
  });
});
