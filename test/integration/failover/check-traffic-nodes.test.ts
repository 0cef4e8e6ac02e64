import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configChecks } from '../../../src/app/checks/checks.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { AtlasCluster } from '../../../src/simulators/appliance/atlas-cluster.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { writeCa } from '../appliance/harness.js';

const TRAFFIC = ['tn1.atlas.example', 'tn2.atlas.example'];
const REPORTER = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'read_only' as const },
};

/** `ecm-bridge check` of an Atlas site probes every traffic node, over real sockets. */
describe('check probes every Atlas traffic node', () => {
  const generator = new SessionGenerator({
    seed: 3,
    count: 1,
    hostName: 'access.atlas.example',
    product: 'pra',
    firstStartMs: Date.now(),
    spacingMs: 60_000,
    trafficNodes: TRAFFIC,
  });
  const cluster = new AtlasCluster({ accounts: [REPORTER], generator });
  let caFile: string;
  beforeAll(async () => {
    await cluster.start();
    caFile = writeCa(cluster.caPem);
  });
  afterAll(() => cluster.stop());

  function checks(hostMap: Record<string, string>) {
    const yaml = `
allowLiteralSecrets: true
sites:
  - name: atlas
    url: ${cluster.primary.url}
    caFile: ${caFile}
    atlas: ${JSON.stringify({ trafficNodes: TRAFFIC, hostMap })}
    reporting: { clientId: ${REPORTER.clientId}, clientSecret: ${REPORTER.clientSecret} }
`;
    const config = parseConfigText(yaml, 'test.yaml', { env: {} });
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'check',
    });
    return configChecks(config, rt).filter((c) => c.component === 'site:atlas');
  }

  it('one line per node: reachable through the host map, TLS verified against the public name, token accepted', async () => {
    const out: Record<string, { ok: boolean; detail: string }> = {};
    for (const c of checks(cluster.hostMap)) out[c.name] = await c.run(AbortSignal.timeout(5000));
    const [tn1, tn2] = cluster.traffic;
    expect(out['traffic node tn1.atlas.example']).toEqual({
      ok: true,
      detail: `tn1.atlas.example (via ${tn1!.address}) healthy, TLS verified, token accepted`,
    });
    expect(out['traffic node tn2.atlas.example']).toMatchObject({ ok: true });
    // The token the primary minted once serves both nodes.
    expect(cluster.primary.tokens.mintCount).toBe(1);
    expect(tn2!.requests.map((r) => [r.path, r.authorized])).toEqual([
      ['/check_health', false],
      ['/api/command', true],
    ]);
  });

  it('names the one failing node with its own cause and fix; the others pass', async () => {
    // tn2 mapped to a port nobody listens on (the node is down or the map is wrong).
    const hostMap = { ...cluster.hostMap, 'tn2.atlas.example': '127.0.0.1:1' };
    const results = [];
    for (const c of checks(hostMap)) results.push({ name: c.name, ...(await c.run(AbortSignal.timeout(5000))) });
    expect(results.filter((r) => !r.ok)).toEqual([
      {
        name: 'traffic node tn2.atlas.example',
        ok: false,
        detail: 'site atlas: cannot reach tn2.atlas.example (via 127.0.0.1:1) (ECONNREFUSED)',
        cause: 'site:atlas:traffic:tn2.atlas.example:appliance.unavailable',
        fix: 'check DNS, firewall and proxy from this host to tn2.atlas.example (sites[0].atlas.hostMap maps it to 127.0.0.1:1) on its port',
      },
    ]);
    expect(results.find((r) => r.name === 'traffic node tn1.atlas.example')).toMatchObject({ ok: true });
  });

  it('verifies each node against its public name: a map to the wrong node fails TLS, never skipped', async () => {
    // tn2's public name mapped to tn1's address: tn1's certificate does not name tn2.
    const hostMap = { ...cluster.hostMap, 'tn2.atlas.example': cluster.traffic[0]!.address };
    const c = checks(hostMap).find((x) => x.name === 'traffic node tn2.atlas.example')!;
    expect(await c.run(AbortSignal.timeout(5000))).toMatchObject({
      ok: false,
      detail: expect.stringContaining('TLS verification of tn2.atlas.example (via 127.0.0.1:'),
      cause: 'site:atlas:traffic:tn2.atlas.example:appliance.tls',
      fix: expect.stringContaining(
        'does not name tn2.atlas.example: check that the host map points at that traffic node',
      ),
    });
  });
});
