import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/main.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { generateSimTls } from '../../../src/simulators/appliance/sim-tls.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa, type StartedLink } from './harness.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  const code = await runCli(argv, { stdout, stderr, env: {} });
  return { code, out, err };
}

describe('CLI: sim console and check against a running simulator', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  let started: StartedLink;
  beforeAll(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 200 });
    await sim.start();
    caFile = writeCa(sim.caPem);
    started = await startLink(sim.url, caFile, new ScriptedHandler());
    await until(() => started.link.status().state === 'connected', 'connected');
  });
  afterAll(async () => {
    await started.link.stop(100);
    await sim.stop();
  });

  it('sim console sends a request and prints the outcome; a missing param is a usage error', async () => {
    const ok = await cli([
      'sim',
      'console',
      '--url',
      sim.url,
      '--ca',
      caFile,
      '--op',
      'credentials.list',
      '--user',
      'CORP\\jdoe',
      '--endpoint',
      'web01',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ answeredBy: 'ecm', result: { credentials: [{ id: 'c1' }] } });
    const bad = await cli([
      'sim',
      'console',
      '--url',
      sim.url,
      '--ca',
      caFile,
      '--op',
      'credentials.get',
      '--user',
      'jdoe',
    ]);
    expect(bad).toMatchObject({ code: 2, err: 'error [cli.usage]: --op credentials.get needs --credential-id\n' });
  });

  it('check prints a red line with the fix and exits 1 when a permission is missing', async () => {
    sim.tokens.setPermissions(ECM_ACCOUNT.clientId, { ecm: false });
    const file = join(dirname(caFile), 'config.yaml');
    writeFileSync(
      file,
      [
        'allowLiteralSecrets: true',
        'store: { kind: embedded, dataDir: "memory://" }',
        'sites:',
        `  - { name: sim, url: "${sim.url}", caFile: "${caFile}", ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} } }`,
        'vault: { kind: passwordsafe, url: "https://vault.example.com/BeyondTrust/api/public/v3", auth: { method: apikey, apiKey: k } }',
        'broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }',
      ].join('\n'),
    );
    const r = await cli(['check', '--config', file, '--timeout-ms', '5000']);
    sim.tokens.setPermissions(ECM_ACCOUNT.clientId, { ecm: true });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/OK +site:sim +oauth ecm +token issued to ecm-client/);
    expect(r.out).toMatch(
      /FAIL site:sim +permissions ecm +ecm-client lacks "Endpoint Credential Manager API: Allow Access" \(perm_ecm\)/,
    );
    // The fix speaks /login's wording, not the API's permission names.
    expect(r.out).toContain(
      'fix: in /login > Management > API Configuration, edit API account ecm-client and tick "Endpoint Credential Manager API: Allow Access"',
    );
    expect(r.out).not.toMatch(/fix: .*perm_ecm/);
    expect(r.out).not.toContain(ECM_ACCOUNT.clientSecret);
  });

  it('check: an untrusted certificate is one root cause (the other calls to the site say so), also in --json', async () => {
    const file = join(dirname(caFile), 'wrong-ca.yaml');
    const wrongCa = join(dirname(caFile), 'not-the-sim-ca.pem');
    writeFileSync(wrongCa, (await generateSimTls('someone-else')).caPem);
    writeFileSync(
      file,
      [
        'allowLiteralSecrets: true',
        'sites:',
        `  - { name: sim, url: "${sim.url}", caFile: "${wrongCa}", ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }, reporting: { clientId: r, clientSecret: s } }`,
        // A vault nothing listens for: its own, separate problem.
        'vault: { kind: passwordsafe, url: "https://127.0.0.1:1/BeyondTrust/api/public/v3", auth: { method: apikey, apiKey: k }, retries: { max: 0 } }',
        'broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }',
        `store: { kind: embedded, dataDir: "${join(dirname(caFile), 'no-such-store')}" }`,
      ].join('\n'),
    );
    const r = await cli(['check', '--config', file, '--timeout-ms', '5000']);
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    expect(r.out.match(/^FAIL (site:sim|reporting)/gm)).toHaveLength(1);
    expect(r.out).toMatch(/^FAIL vault /m);
    expect(r.out).toMatch(/FAIL site:sim +oauth ecm .*TLS verification/);
    expect(r.out).toContain('fix: add the CA that issued');
    expect(r.out).toMatch(/SKIP site:sim +permissions ecm +same cause as site:sim oauth ecm \(above\)/);
    expect(r.out).toMatch(/SKIP reporting +site sim Reporting API +same cause as site:sim oauth ecm/);
    expect(r.out).toMatch(/2 problem\(s\) to fix, each with its fix\n$/);
    // check creates nothing: the embedded store is only announced.
    expect(r.out).toMatch(
      /OK +store .*no data directory yet at .*no-such-store; `serve` \(or `db migrate`\) will migrate it to schema version \d+: 1 /,
    );
    expect(existsSync(join(dirname(caFile), 'no-such-store'))).toBe(false);
    const j = await cli(['check', '--config', file, '--timeout-ms', '5000', '--json']);
    expect(j.code).toBe(1);
    const report = JSON.parse(j.out) as { ok: boolean; problems: number; checks: { ok: boolean; causedBy?: string }[] };
    expect(report).toMatchObject({ ok: false, problems: 2 });
    expect(report.checks.filter((c) => !c.ok && !c.causedBy)).toHaveLength(2);
    expect(report.checks.filter((c) => c.causedBy === 'site:sim oauth ecm').length).toBeGreaterThanOrEqual(4);
  });
});
