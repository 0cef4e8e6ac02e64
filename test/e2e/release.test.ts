import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { assertBuildFresh } from '../helpers/cli.js';
import { readmeBlock, sampleAndOutput } from '../helpers/readme-samples.js';
import { until } from '../helpers/until.js';
import { ECM_ACCOUNT, writeCa } from '../integration/appliance/harness.js';
import { startPsForBroker } from '../integration/broker/ps-broker-harness.js';

const exec = promisify(execFile);
const hasSystemdAnalyze = await exec('systemd-analyze', ['--version']).then(
  () => true,
  () => false,
);
if (!hasSystemdAnalyze)
  console.warn('skipped: systemd-analyze is not installed (apt-get install systemd); the unit file was not verified');

/**
 * The release is the product: this packs the checkout (`npm pack`, once per run), installs the
 * tarball into a temporary root the way docs/deployment.md says (`npm install -g --prefix
 * <root>/usr/local`: a real install that resolves the dependencies afresh, never a symlink to the
 * checkout), and then does what a new administrator does, in order, with the installed command:
 * ask the version, validate files, `check` and `test-settings` against the simulators, run the
 * demo, start `serve` and open its status page.
 */
describe('the packed release, installed as an operator installs it', () => {
  const root = mkdtempSync(join(tmpdir(), 'ecm-release-'));
  const prefix = join(root, 'usr', 'local');
  const installed = join(prefix, 'lib', 'node_modules', 'ecm-bridge');
  const work = mkdtempSync(join(tmpdir(), 'ecm-walk-'));
  const bin = join(prefix, 'bin', 'ecm-bridge');
  let packed: string[] = [];
  let installLog = '';
  let sim: ApplianceSimulator;
  let ps: Awaited<ReturnType<typeof startPsForBroker>>;

  async function ecmBridge(args: string[], env: Record<string, string> = {}, cwd = work) {
    try {
      const r = await exec(bin, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const r = e as { code: number; stdout: string; stderr: string };
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    }
  }

  beforeAll(async () => {
    assertBuildFresh();
    // --ignore-scripts: `prepack` would rebuild what assertBuildFresh just found fresh (CPU taken
    // from the files running beside this one, and a bundle rewritten under them).
    const pack = await exec('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root]);
    const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path);
    // --prefer-offline: the dependencies come from npm's cache where `npm ci` left them; the
    // registry is asked only for what the cache lacks.
    const install = await exec('npm', [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(root, info.filename),
    ]);
    installLog = install.stdout + install.stderr;
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 200 });
    await sim.start();
    ps = await startPsForBroker();
  });
  afterAll(async () => {
    await sim?.stop();
    await ps?.close();
  });

  it('1. the tarball ships what runs and nothing from src/; it installs cleanly and reports its version', async () => {
    for (const f of [
      'bin/ecm-bridge.js',
      'dist/bundle/main.js',
      'dist/pglite-template/cluster.tar.gz',
      'assets/status-page/index.html',
      'config/ecm-bridge.example.yaml',
      'config/example-secrets/ps-api-key',
      'config/demo/passwordsafe-seed.yaml',
      'sql/mssql/readonly-login.sql',
      'deploy/ecm-bridge.service',
    ])
      expect(packed).toContain(f);
    expect(packed.filter((f) => f.startsWith('src/') || f.startsWith('test/'))).toEqual([]);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    // No dependency refuses this Node (the ranges, not the checkout's lock, decide what an install
    // gets), and no install script is left for npm to ask about.
    expect(installLog).not.toMatch(/EBADENGINE|install-scripts|allowScripts/);
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    for (const args of [['version'], ['--version']]) {
      const r = await ecmBridge(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        new RegExp(`^ecm-bridge ${version.replaceAll('.', '\\.')} \\(Node\\.js \\d+\\.\\d+\\.\\d+, `),
      );
    }
    // The help names no path a release does not have.
    for (const args of [['--help'], ['sim', 'passwordsafe', '--help'], ['sim', 'appliance', '--help']])
      expect((await ecmBridge(args)).stdout).not.toMatch(/src\//);
  });

  it('1b. the shipped example config validates as shipped, from any directory', async () => {
    const r = await ecmBridge(['config', 'validate', join(installed, 'config', 'ecm-bridge.example.yaml')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ecm-bridge\.example\.yaml: OK/);
  });

  it('1c. config init writes a starting config from the installed package', async () => {
    const target = join(work, 'init', 'config.yaml');
    const r = await ecmBridge(['config', 'init', target]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(target)).toBe(true);
    expect(statSync(join(work, 'init', 'secrets.env')).mode & 0o777).toBe(0o600);
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

  it('5. demo --once runs simulators, bridge and embedded store without showing a secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecm-demo-'));
    const r = await ecmBridge(
      [
        'demo',
        '--once',
        '--sessions',
        '60',
        '--data-dir',
        dir,
        '--vault-port',
        '0',
        '--appliance-port',
        '0',
        '--http-port',
        '0',
      ],
      {},
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/- Administrator \(web01\)\s+local, password/);
    expect(r.stdout).toMatch(/secret:\s+•+ \(16 characters, injected, never shown\)/);
    expect(r.stdout).toContain('{"released":true}');
    expect(r.stdout).toContain('mapping rule "contractors-denied"');
    expect(r.stdout).toMatch(/checked_in\s+lsid demo-\w+ CORP\\jdoe -> jdoe@corp\.example\.com web01\/Administrator/);
    expect(r.stdout).toMatch(/run: \{"demo":"ok"\}/);
    expect(r.stdout).toMatch(/session\s+60 rows/);
    expect(r.stdout).toContain('demo finished');
    // The README shows this tour: it must stay what the released demo prints.
    const { sample, output } = sampleAndOutput(readmeBlock('What `npm run demo` shows'), r.stdout);
    expect(output).toBe(sample);
    // The injected password (from the demo estate) appears nowhere, nor in the logs.
    expect(r.stdout + r.stderr).not.toContain('Web01-Adm!n-2026');
  });

  it('6. serve runs from the install: ready against the simulators, and its status page is served', async () => {
    const config = join(work, 'serve.yaml');
    writeFileSync(
      config,
      readFileSync(join(work, 'config.yaml'), 'utf8').replace('dataDir: ./state/pglite', 'dataDir: ./serve/pglite') +
        'http: { port: 0, statusPage: { openOnLoopback: true } }\nreporting: { enabled: false }\n',
    );
    mkdirSync(join(work, 'serve'), { recursive: true });
    // Nothing is written into the install directory (Node 22's compile cache goes to the user's).
    const installFiles = () => readdirSync(installed, { recursive: true }).map(String).sort();
    const filesBefore = installFiles();
    const compileCache = join(work, 'cache', 'ecm-bridge', 'compile-cache');
    const child = spawn(bin, ['serve', '--config', config], {
      cwd: work,
      env: {
        PATH: process.env.PATH ?? '',
        XDG_CACHE_HOME: join(work, 'cache'),
        ...ps.env,
        ECM_CLIENT_SECRET: ECM_ACCOUNT.clientSecret as string,
      },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await until(() => /"port":(\d+)/.test(out) || child.exitCode !== null, 'the ops server to listen', 180_000);
      const port = Number(/"port":(\d+)/.exec(out)?.[1]);
      expect(port, out).toBeGreaterThan(0);
      const base = `http://127.0.0.1:${port}`;
      await until(
        async () => (await request(`${base}/readyz`)).statusCode === 200 || child.exitCode !== null,
        '/readyz 200',
        180_000,
        100,
      );
      expect(child.exitCode, out).toBeNull();
      for (const [path, file] of [
        ['/status', 'index.html'],
        ['/status/status.js', 'status.js'],
        ['/status/status.css', 'status.css'],
      ] as const) {
        const r = await request(`${base}${path}`);
        expect(r.statusCode).toBe(200);
        expect(await r.body.text()).toBe(readFileSync(join(installed, 'assets', 'status-page', file), 'utf8'));
      }
      // Its data too (opened without a token on loopback, as the config says).
      const overview = await request(`${base}/status/api/overview`);
      expect(overview.statusCode).toBe(200);
      await overview.body.dump();
      // An operator's `check` beside it: the store this serve holds is reported through it.
      const check = await ecmBridge(['check', '--config', config], {
        ...ps.env,
        ECM_CLIENT_SECRET: ECM_ACCOUNT.clientSecret as string,
      });
      expect(check.stdout).toMatch(/OK +store +embedded database +held by the running bridge \(pid \d+\)/);
      // Node 22.1+: serve writes the compile cache once started (bin/ecm-bridge.js), not only at exit.
      if (typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function')
        await until(
          () => existsSync(compileCache) && readdirSync(compileCache, { recursive: true }).length > 1,
          'the compile cache in the user cache directory',
          180_000,
        );
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    expect(out).not.toContain(ECM_ACCOUNT.clientSecret);
    expect(installFiles()).toEqual(filesBefore);
  });

  it.skipIf(!hasSystemdAnalyze)(
    '7. the systemd unit, installed by the documented steps, passes systemd-analyze verify',
    async () => {
      // The documented steps put the launcher at /usr/local/bin and the unit in /etc/systemd/system;
      // here both live under the temporary root, so the unit's /usr/local paths point there.
      const unitDir = join(root, 'etc', 'systemd', 'system');
      mkdirSync(unitDir, { recursive: true });
      const shipped = readFileSync(join(installed, 'deploy', 'ecm-bridge.service'), 'utf8');
      const unit = join(unitDir, 'ecm-bridge.service');
      writeFileSync(unit, shipped.replaceAll('/usr/local/', `${prefix}/`));
      expect(existsSync(join(installed, 'docs', 'deployment.md'))).toBe(true); // its Documentation=
      const { stdout, stderr } = await exec('systemd-analyze', ['verify', unit]);
      expect(stderr + stdout).toBe('');
      // The check itself is strict: a misspelt directive is reported.
      writeFileSync(
        unit,
        shipped.replaceAll('/usr/local/', `${prefix}/`).replace('ProtectSystem=strict', 'ProtectSystem=strictt'),
      );
      const bad = await exec('systemd-analyze', ['verify', unit]);
      expect(bad.stderr).toContain('strictt');
    },
  );
});
