import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { assertBuildFresh } from '../helpers/cli.js';
import { ECM_ACCOUNT, writeCa } from '../integration/appliance/harness.js';
import { startPsForBroker } from '../integration/broker/ps-broker-harness.js';

const exec = promisify(execFile);

/**
 * What a new administrator does, in order, with the installed command: install globally, ask the
 * version, validate broken files, `check` against the simulators with one permission missing,
 * and `test-settings` without any appliance secret. Each step runs the `ecm-bridge` that
 * `npm install -g --prefix` put on the temporary PATH.
 */
describe('operator walk-through with the globally installed ecm-bridge', () => {
  const prefix = mkdtempSync(join(tmpdir(), 'ecm-prefix-'));
  const work = mkdtempSync(join(tmpdir(), 'ecm-walk-'));
  const bin = join(prefix, 'bin', 'ecm-bridge');
  let sim: ApplianceSimulator;
  let ps: Awaited<ReturnType<typeof startPsForBroker>>;

  async function ecmBridge(args: string[], env: Record<string, string> = {}) {
    try {
      const r = await exec(bin, args, { cwd: work, env: { PATH: process.env.PATH ?? '', ...env } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const r = e as { code: number; stdout: string; stderr: string };
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    }
  }

  beforeAll(async () => {
    assertBuildFresh();
    // --ignore-scripts: the checkout's `prepare` would rebuild what assertBuildFresh just found
    // fresh (5 s of CPU taken from the files running beside this one) and rewrite the bundle
    // other test files are running.
    await exec('npm', [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      resolve('.'),
    ]);
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 200 });
    await sim.start();
    ps = await startPsForBroker();
  });
  afterAll(async () => {
    await sim?.stop();
    await ps?.close();
  });

  it('1. the package ships its build, and the installed command reports its version', async () => {
    const { stdout } = await exec('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    const files = (JSON.parse(stdout) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
    for (const f of [
      'bin/ecm-bridge.js',
      'dist/bundle/main.js',
      'sql/mssql/readonly-login.sql',
      'deploy/ecm-bridge.service',
    ])
      expect(files).toContain(f);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    for (const args of [['version'], ['--version']]) {
      const r = await ecmBridge(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^ecm-bridge ${version.replaceAll('.', '\\.')} \\(Node\\.js \\d+\\.\\d+\\.\\d+, `),
      );
    }
  });

  it('2. config validate names each problem of a broken file in plain words', async () => {
    const empty = join(work, 'empty.yaml');
    writeFileSync(empty, '# nothing yet\n');
    const e = await ecmBridge(['config', 'validate', empty]);
    expect(e.code).toBe(78);
    expect(e.stderr).toBe(
      `${empty}: (file): the file is empty: nothing to run (see config/ecm-bridge.example.yaml)\n${empty}: 1 problem(s) found\n`,
    );
    const broken = join(work, 'broken.yaml');
    writeFileSync(
      broken,
      [
        'http:',
        '  port: "9410a"',
        'log:',
        '  level: verbose',
        '  formt: json',
        'reporting:',
        '  batchSize: 0',
        '',
      ].join('\n'),
    );
    const b = await ecmBridge(['config', 'validate', broken]);
    expect(b.code).toBe(78);
    expect(b.stderr.split('\n').filter(Boolean).sort()).toEqual(
      [
        `${broken}:2:9: http.port: must be a number, not text`,
        `${broken}:4:10: log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", not "verbose"`,
        `${broken}:5:3: log.formt: unknown key "formt" (did you mean "format"?)`,
        `${broken}:7:14: reporting.batchSize: must be at least 1, not 0`,
        `${broken}: 4 problem(s) found`,
      ].sort(),
    );
    expect(b.stderr).not.toMatch(/Invalid input|expected number, received/);
  });

  it('3. check against the simulators: one missing permission is one root cause, in /login wording; nothing is created', async () => {
    sim.tokens.setPermissions(ECM_ACCOUNT.clientId, { ecm: false });
    const caFile = writeCa(sim.caPem);
    const config = join(work, 'config.yaml');
    writeFileSync(
      config,
      readFileSync(ps.configFile, 'utf8').replace(
        /auth: \{ method: apikey, apiKey: env:PS_API_KEY \}/,
        '$&\n  probeUser: jdoe@corp.example.com',
      ) +
        [
          'sites:',
          `  - { name: sim, url: "${sim.url}", product: PRA, caFile: "${caFile}", ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: env:ECM_CLIENT_SECRET } }`,
          'store: { kind: embedded, dataDir: ./state/pglite }',
          '',
        ].join('\n'),
    );
    const r = await ecmBridge(['check', '--config', config], {
      ...ps.env,
      ECM_CLIENT_SECRET: ECM_ACCOUNT.clientSecret as string,
    });
    sim.tokens.setPermissions(ECM_ACCOUNT.clientId, { ecm: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
    expect(failures).toEqual([
      expect.stringMatching(
        /^FAIL site:sim +permissions ecm +ecm-client lacks "Endpoint Credential Manager API: Allow Access"/,
      ),
    ]);
    expect(r.stdout).toContain(
      'fix: in /login > Management > API Configuration, edit API account ecm-client and tick "Endpoint Credential Manager API: Allow Access"',
    );
    expect(r.stdout).toMatch(/OK +vault /);
    expect(r.stdout).toMatch(
      /OK +store +embedded database +no data directory yet at .*state\/pglite; `serve` \(or `db migrate`\) will migrate it to schema version \d+/,
    );
    expect(r.stdout).toMatch(/1 problem\(s\) to fix\n$/);
    expect(existsSync(join(work, 'state'))).toBe(false);
    expect(existsSync(join(work, '.data'))).toBe(false);
    expect(r.stdout).not.toContain(ECM_ACCOUNT.clientSecret);
  });

  it('4. test-settings explains a user with no appliance secret set', async () => {
    const r = await ecmBridge(
      ['test-settings', '--config', join(work, 'config.yaml'), '--user', 'CORP\\jdoe', '--endpoint', 'web01'],
      ps.env, // ECM_CLIENT_SECRET is not set
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('=> vault user "jdoe@corp.example.com" (rule corp-to-upn)');
    expect(r.stdout).toMatch(/1\. Administrator \(web01\) +local +password/);
    expect(r.stdout).toContain('Result: OK (nothing was checked out');
  });
});
