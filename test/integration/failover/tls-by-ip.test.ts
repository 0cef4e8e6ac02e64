import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configChecks } from '../../../src/app/checks/checks.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { generateSimTls } from '../../../src/simulators/appliance/sim-tls.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa } from '../appliance/harness.js';

/**
 * Failover guides list nodes by IP; the appliance's certificate carries only the site's name.
 * The certificate here has no IP address in it, so a connection by IP verifies only if the
 * bridge sends and checks the site's hostname.
 */
describe('a node given by IP is verified against the site hostname', () => {
  const sim = new ApplianceSimulator({
    accounts: [ECM_ACCOUNT],
    hostname: 'access.example.com',
    failoverRole: 'primary',
  });
  let caFile: string;
  beforeAll(async () => {
    await sim.start(await generateSimTls('access.example.com', { addresses: false }));
    caFile = writeCa(sim.caPem);
  });
  afterAll(() => sim.stop());

  it('connects by IP with SNI and verification name = the site hostname', async () => {
    // access.example.com does not resolve here: every connection goes to the node's IP.
    const l = await startLink(`https://access.example.com:${sim.port}`, caFile, new ScriptedHandler(), {
      extra: { nodes: [sim.node] },
    });
    try {
      await until(() => l.link.status().state === 'connected', 'connected by IP');
      expect(sim.hub.connections()).toHaveLength(1);
    } finally {
      await l.link.stop(200);
    }
  });

  it('refuses the same certificate for another site name (verification is never skipped)', async () => {
    const l = await startLink(`https://other.example.com:${sim.port}`, caFile, new ScriptedHandler(), {
      extra: { nodes: [sim.node] },
    });
    try {
      await until(
        async () =>
          /ERR_TLS_CERT_ALTNAME_INVALID/.test((await l.readiness.report()).components['site:sim']?.reason ?? ''),
        'TLS name mismatch named on /readyz',
      );
      expect(sim.upgrades.get(101) ?? 0).toBe(1); // only the first test's channel
    } finally {
      await l.link.stop(200);
    }
  });

  it('check: a certificate that does not name the host is one TLS cause with the name fix, not "add the CA"', async () => {
    const config = parseConfigText(
      `
allowLiteralSecrets: true
sites:
  - name: sim
    url: https://other.example.com:${sim.port}
    nodes: [${sim.node}]
    caFile: ${caFile}
    ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }
vault: { kind: passwordsafe, url: https://vault.example.com/BeyondTrust/api/public/v3, auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`,
      'test.yaml',
      { env: {} },
    );
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'c',
    });
    const oauth = configChecks(config, rt).find((c) => c.component === 'site:sim' && c.name === 'oauth ecm');
    const r = await oauth?.run(AbortSignal.timeout(10_000));
    expect(r).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /^site sim: TLS verification of 127\.0\.0\.1:\d+ failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
      ),
      fix: expect.stringContaining('the certificate does not name the host it was verified against'),
      cause: 'site:sim:appliance.tls',
    });
    expect(r?.fix).not.toContain('caFile:');
  });
});
