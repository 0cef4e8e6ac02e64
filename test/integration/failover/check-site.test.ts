import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configChecks } from '../../../src/app/checks/checks.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { FailoverPair } from '../../../src/simulators/appliance/failover-pair.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa, type StartedLink } from '../appliance/harness.js';

/** `ecm-bridge check` of a failover site, over real sockets. */
describe('check tells the whole truth about a failover site', () => {
  const pair = new FailoverPair({ accounts: [ECM_ACCOUNT], heartbeatMs: 100 });
  let caFile: string;
  beforeAll(async () => {
    await pair.start();
    caFile = writeCa(pair.caPem);
  });
  afterAll(() => pair.stop());

  async function runChecks() {
    const [n0, n1] = pair.nodes;
    const yaml = `
allowLiteralSecrets: true
sites:
  - name: sim
    url: ${n0.url}
    nodes: [${n0.node}, ${n1.node}]
    caFile: ${caFile}
    ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }
vault: { kind: passwordsafe, url: https://vault.example.com/BeyondTrust/api/public/v3, auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`;
    const config = parseConfigText(yaml, 'test.yaml', { env: {} });
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'check',
    });
    const out: Record<string, { ok: boolean; detail: string; fix?: string; warning?: boolean }> = {};
    for (const c of configChecks(config, rt))
      if (c.component === 'site:sim') out[c.name] = await c.run(AbortSignal.timeout(5000));
    return out;
  }

  it('opens the channel once and closes it, shows roles and last data sync, one token per account and node', async () => {
    const [n0, n1] = pair.nodes;
    const r = await runChecks();
    expect(r['failover roles']).toMatchObject({
      ok: true,
      detail: expect.stringMatching(
        new RegExp(
          `^${n0.node} primary \\(last data sync 20\\d\\d-.*Z\\); ${n1.node} backup \\(last data sync .*Z\\); using ${n0.node}$`,
        ),
      ),
    });
    expect(r['ecm channel']).toMatchObject({
      ok: true,
      detail: expect.stringContaining('this bridge would be the active ECM of its group'),
    });
    expect(n0.upgrades.get(101)).toBe(1);
    await until(() => n0.hub.connections().length === 0, 'the trial channel closed');
    expect(n0.tokens.mintCount).toBe(1); // oauth, permissions, health, roles and channel share one
    expect(n1.tokens.mintCount).toBe(1); // the backup's role needs its own token
  });

  it('warns when an older ECM already holds the group', async () => {
    let running: StartedLink | undefined;
    try {
      running = await startLink(pair.nodes[0].url, caFile, new ScriptedHandler(), {
        extra: { nodes: pair.nodes.map((n) => n.node) },
      });
      await until(() => running?.link.status().state === 'connected', 'a replica connected');
      const r = await runChecks();
      expect(r['ecm channel']).toMatchObject({
        ok: true,
        warning: true,
        detail: expect.stringContaining('an older ECM already holds the group'),
      });
    } finally {
      await running?.link.stop(200);
    }
  });

  it('names a site whose ECM connections are refused', async () => {
    pair.nodes[0].setEcmConnections(false);
    try {
      const r = await runChecks();
      expect(r['ecm channel']).toMatchObject({
        ok: false,
        detail: expect.stringMatching(
          /refused the ECM channel \(HTTP 403: Endpoint Credential Manager connections are disabled on this site\)$/,
        ),
        fix: expect.stringContaining('allow ECM connections on the site'),
      });
      expect(r['permissions ecm']?.ok).toBe(true); // the permission alone would not have shown it
    } finally {
      pair.nodes[0].setEcmConnections(true);
    }
  });

  it('names "no primary" while both nodes are backup', async () => {
    pair.setBoth('backup');
    try {
      const r = await runChecks();
      expect(r['failover roles']).toMatchObject({ ok: false, detail: expect.stringContaining('no primary') });
    } finally {
      pair.nodes[0].setRole('primary');
    }
  });
});

/** Issue 24, point 2: `check` goes where `serve` goes. */
describe('check follows the nodes, not sites[].url', () => {
  const noCommandReporter = {
    clientId: 'rep-client',
    clientSecret: 'rep-secret-value-456',
    permissions: { ecm: false, reporting: true, command: 'deny' as const },
  };
  // A site name no resolver knows (.invalid), on the pair's certificate.
  const pair = new FailoverPair({
    accounts: [ECM_ACCOUNT, noCommandReporter],
    heartbeatMs: 60_000,
    hostname: 'access.corp.invalid',
  });
  let caFile: string;
  beforeAll(async () => {
    await pair.start();
    caFile = writeCa(pair.caPem);
  });
  afterAll(() => pair.stop());

  it('a site name this host cannot resolve, nodes by IP: every appliance line passes through the primary node', async () => {
    const [n0, n1] = pair.nodes;
    // The docs' own recommendation: the site name for the certificate, the nodes by IP.
    const yaml = `
allowLiteralSecrets: true
sites:
  - name: sim
    url: https://${n0.hostname}:${n0.port}
    nodes: [${n0.node}, ${n1.node}]
    caFile: ${caFile}
    ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret} }
    reporting: { clientId: ${noCommandReporter.clientId}, clientSecret: ${noCommandReporter.clientSecret} }
vault: { kind: passwordsafe, url: https://vault.example.com/BeyondTrust/api/public/v3, auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`;
    const config = parseConfigText(yaml, 'test.yaml', { env: {} });
    const rt = createRuntime(silentLogger(), {
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      instanceId: 'c',
    });
    const r: Record<string, { ok: boolean; detail: string; fix?: string }> = {};
    for (const c of configChecks(config, rt))
      if (c.component === 'site:sim') r[c.name] = await c.run(AbortSignal.timeout(10_000));
    expect(r['oauth ecm']).toMatchObject({ ok: true });
    expect(r['permissions ecm']).toMatchObject({ ok: true });
    expect(r['oauth reporting']).toMatchObject({ ok: true });
    expect(r['check_health']).toMatchObject({ ok: true, detail: expect.stringContaining('failover role primary') });
    // On a failover site the reporting account needs the Command API too (the failback re-read).
    expect(r['permissions reporting']).toMatchObject({
      ok: false,
      detail: expect.stringContaining('(perm_command)'),
    });
  });
});
