import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { configChecks } from '../../../src/app/checks/checks.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { BridgeService } from '../../../src/app/bridge-service.js';
import { isServiceError, ServiceError } from '../../../src/platform/errors.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa } from '../appliance/harness.js';
import { DEMO_KEY, JDOE, startHarness, WEB01, type Harness } from '../vault/ps-harness.js';
import { toWireError } from '../../../src/appliance/channel/wire-errors.js';

const NO_RETRY = { max: 0, baseDelayMs: 1, maxDelayMs: 1 };

/** A proxy URL whose port nothing listens on (a proxy that is down). */
async function downProxyUrl(): Promise<string> {
  const p = await startConnectProxy();
  await p.close();
  return p.url;
}

async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('proxy failures are named as the proxy, not the target (issue 24, point 3)', () => {
  let h: Harness;
  let authProxy: ConnectProxy;
  let forbidding: ConnectProxy;
  let sim: ApplianceSimulator;
  let caFile: string;
  beforeAll(async () => {
    h = await startHarness();
    authProxy = await startConnectProxy({ username: 'bridge', password: DEMO_KEY });
    forbidding = await startConnectProxy(undefined, true);
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 60_000 });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterAll(async () => {
    await authProxy.close();
    await forbidding.close();
    await sim.stop();
    await h.close();
  });

  it('vault: 407, 403, a proxy that is down and one that does not resolve each get their own code naming the proxy', async () => {
    const vaultHost = new URL(h.sim.url).host;
    const wrong = h.vault({
      proxy: { url: authProxy.url, username: 'bridge', password: 'literal-wrong-proxy-pw' },
      retries: NO_RETRY,
    });
    const e407 = await failure(wrong.listAccounts(JDOE, WEB01));
    expect(e407.code).toBe('proxy.auth_failed');
    expect(e407.message).toBe(
      `Password Safe: proxy ${new URL(authProxy.url).host} refused the proxy credentials (407) on the way to ${vaultHost}; check proxy.username and proxy.password`,
    );
    // What the console is told: the proxy's failure, without the password.
    expect(toWireError(e407)).toEqual({ code: 'vault_unavailable', message: e407.message, retryable: false });

    const e403 = await failure(
      h.vault({ proxy: { url: forbidding.url }, retries: NO_RETRY }).listAccounts(JDOE, WEB01),
    );
    expect(e403.code).toBe('proxy.refused');
    expect(e403.message).toContain(`proxy ${new URL(forbidding.url).host} refused the tunnel to ${vaultHost} (403)`);

    const down = await downProxyUrl();
    const eDown = await failure(h.vault({ proxy: { url: down }, retries: NO_RETRY }).listAccounts(JDOE, WEB01));
    expect(eDown.code).toBe('proxy.unreachable');
    expect(eDown.message).toContain(
      `proxy ${new URL(down).host} is not answering on the way to ${vaultHost} (ECONNREFUSED)`,
    );
    expect(eDown.retryable).toBe(true);

    const eDns = await failure(
      h.vault({ proxy: { url: 'http://proxy.invalid:3128' }, retries: NO_RETRY }).listAccounts(JDOE, WEB01),
    );
    expect(eDns.code).toBe('proxy.unresolvable');
    expect(eDns.message).toMatch(
      /proxy proxy\.invalid:3128 cannot be found on the way to .*: its name does not resolve \((ENOTFOUND|EAI_AGAIN)\)/,
    );
    expect(h.logs.text).not.toContain('literal-wrong-proxy-pw');
  });

  it('the ECM channel through a proxy that refuses: blocked, and /readyz names the proxy', async () => {
    const l = await startLink(sim.url, caFile, new ScriptedHandler(), { extra: { proxy: { url: forbidding.url } } });
    try {
      await until(() => l.link.status().state === 'blocked', 'blocked by the proxy');
      const ready = (await l.readiness.report()).components['site:sim'];
      expect(ready?.reason).toBe(
        `site sim: proxy ${new URL(forbidding.url).host} refused the tunnel to ${sim.node} (403); allow CONNECT to ${sim.node} on the proxy, or list the host in proxy.noProxy`,
      );
      expect(sim.upgrades.size).toBe(0);
    } finally {
      await l.link.stop(200);
    }
  });

  it('check: a site behind a proxy that is down fails with the proxy named and the proxy fix', async () => {
    const down = await downProxyUrl();
    const config = parseConfigText(
      `
allowLiteralSecrets: true
sites:
  - name: sim
    url: ${sim.url}
    caFile: ${caFile}
    proxy: { url: "${down}" }
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
      detail: expect.stringContaining(`proxy ${new URL(down).host} is not answering on the way to ${sim.node}`),
      fix: 'start the proxy, or fix sites[0].proxy.url (host and port)',
    });
    expect(isServiceError(new ServiceError('proxy.unreachable', 'x'), 'proxy.unreachable')).toBe(true);
  });

  it('/readyz: the vault unit probes at start, so a proxy that is down shows before any console request', async () => {
    const down = await downProxyUrl();
    const config = parseConfigText(
      `
allowLiteralSecrets: true
store: { kind: embedded, dataDir: "memory://" }
vault:
  kind: passwordsafe
  url: ${h.sim.url}
  caFile: ${h.caFile}
  auth: { method: apikey, apiKey: ${DEMO_KEY} }
  probeUser: ecm-probe@corp.example.com
  proxy: { url: "${down}" }
http: { host: 127.0.0.1, port: 0 }
log: { level: silent }
`,
      'test.yaml',
    );
    const rt = {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
      clock: h.clock,
      instanceId: 'probe-test',
    };
    const service = new BridgeService(config, rt, 1000);
    await service.start();
    try {
      await until(async () => (await rt.readiness.report()).components.vault?.ready === false, 'vault not ready');
      expect((await rt.readiness.report()).components.vault).toMatchObject({
        reason: expect.stringContaining(`proxy ${new URL(down).host} is not answering`),
        code: 'proxy.unreachable',
      });
    } finally {
      await service.stop();
    }
  });
});
