import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/main.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
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
      /FAIL site:sim +permissions ecm +ecm-client lacks Endpoint Credential Manager API: Allow Access \(perm_ecm\)/,
    );
    expect(r.out).toMatch(/fix: in \/login > Management > API Configuration, grant perm_ecm to ecm-client/);
    expect(r.out).not.toContain(ECM_ACCOUNT.clientSecret);
  });
});
