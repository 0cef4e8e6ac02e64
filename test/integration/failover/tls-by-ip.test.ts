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
      // The reason names the name verified against, not only the address connected to.
      expect((await l.readiness.report()).components['site:sim']?.reason).toMatch(
        /TLS verification of 127\.0\.0\.1:\d+ against the name other\.example\.com failed/,
      );
      expect(sim.upgrades.get(101) ?? 0).toBe(1); // only the first test's channel
    } finally {
      await l.link.stop(200);
    }
  });

  /** `check`'s lines for one site `sim` with these settings (YAML flow lines under the site). */
  async function checkLines(site: string[], names: string[]) {
    const config = parseConfigText(
      [
        'allowLiteralSecrets: true',
        'sites:',
        '  - name: sim',
        ...site.map((l) => `    ${l}`),
        `    ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }`,
        'vault: { kind: passwordsafe, url: https://vault.example.com/BeyondTrust/api/public/v3, auth: { method: apikey, apiKey: k } }',
        'broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }',
      ].join('\n'),
      'test.yaml',
      { env: {} },
    );
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'c',
    });
    const checks = configChecks(config, rt).filter((c) => c.component === 'site:sim' && names.includes(c.name));
    return Promise.all(checks.map(async (c) => ({ name: c.name, ...(await c.run(AbortSignal.timeout(10_000))) })));
  }

  it('check: a certificate that does not name the site name is one TLS cause with the name fix, not "add the CA"', async () => {
    const [r] = await checkLines(
      [`url: https://other.example.com:${sim.port}`, `nodes: [${sim.node}]`, `caFile: ${caFile}`],
      ['oauth ecm'],
    );
    expect(r).toMatchObject({
      ok: false,
      detail: expect.stringMatching(
        /^site sim: TLS verification of 127\.0\.0\.1:\d+ against the name other\.example\.com failed \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
      ),
      fix: expect.stringContaining('does not name other.example.com'),
      cause: 'site:sim:appliance.tls',
    });
    expect(r?.fix).toContain('set sites[0].tlsServerName to the name the certificate carries');
    expect(r?.fix).not.toContain('add the CA');
  });

  it('check: a certificate from an unknown CA gets the caFile fix, not the name fix', async () => {
    const [r] = await checkLines(
      [`url: https://access.example.com:${sim.port}`, `nodes: [${sim.node}]`],
      ['oauth ecm'],
    );
    expect(r).toMatchObject({ ok: false, cause: 'site:sim:appliance.tls' });
    expect(r?.detail).toMatch(
      /TLS verification of 127\.0\.0\.1:\d+ failed \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)/,
    );
    expect(r?.fix).toMatch(/^add the CA that issued .* to sites\[0\]\.caFile/);
    expect(r?.fix).not.toContain('tlsServerName');
  });

  describe('nodes given by hostname, the certificate naming only the site (the failover guide)', () => {
    // `localhost` resolves to the node; the certificate names only access.example.com, which does not resolve.
    const byName = () => `localhost:${sim.port}`;

    it('serve: connects to the node by its name, verifying the site name', async () => {
      const l = await startLink(`https://access.example.com:${sim.port}`, caFile, new ScriptedHandler(), {
        extra: { nodes: [byName()] },
      });
      try {
        await until(() => l.link.status().state === 'connected', 'connected through the hostname node');
      } finally {
        await l.link.stop(200);
      }
    });

    it('serve: sites[].tlsServerName names the certificate when the site URL is an address', async () => {
      const l = await startLink(`https://127.0.0.1:${sim.port}`, caFile, new ScriptedHandler(), {
        extra: { nodes: [byName()], tlsServerName: 'access.example.com' },
      });
      try {
        await until(() => l.link.status().state === 'connected', 'connected with tlsServerName');
      } finally {
        await l.link.stop(200);
      }
    });

    it('check: OAuth, the channel and the node line pass, as serve does', async () => {
      const lines = await checkLines(
        [`url: https://access.example.com:${sim.port}`, `nodes: [${byName()}]`, `caFile: ${caFile}`],
        ['oauth ecm', 'ecm channel', `node ${byName()}`],
      );
      expect(lines.map((l) => l.name).sort()).toEqual(['ecm channel', `node ${byName()}`, 'oauth ecm'].sort());
      for (const l of lines) expect(l, l.name).toMatchObject({ ok: true });
    });
  });
});
