import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { buildReportWorker, reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ReportingSimulator } from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';
import { ECM_ACCOUNT, ScriptedHandler, startLink, until, writeCa } from '../appliance/harness.js';
import { capturedLogger, instantClock } from '../reporting/reporting-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const PROXY_USER = { username: 'bridge', password: 'Pr0xy-pa55-w0rd' };
const REPORTER = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'deny' as const },
};

describe('through an authenticating CONNECT proxy (real sockets)', () => {
  const clock = new ManualClock(T0 + 30 * 60_000);
  const generator = new SessionGenerator({
    seed: 3,
    count: 20,
    hostName: '127.0.0.1',
    product: 'pra',
    firstStartMs: T0,
    spacingMs: 60_000,
  });
  const sim = new ApplianceSimulator({
    accounts: [ECM_ACCOUNT, REPORTER],
    now: () => clock.now(),
    reporting: new ReportingSimulator({ generator, now: () => clock.now() }).handle,
  });
  let proxy: ConnectProxy;
  let caFile: string;
  beforeAll(async () => {
    await sim.start();
    caFile = writeCa(sim.caPem);
    proxy = await startConnectProxy(PROXY_USER);
  });
  afterAll(async () => {
    await proxy.close();
    await sim.stop();
  });

  function worker(password: string, noProxy: string[] = []) {
    const yaml = [
      'sites:',
      '  - name: corp-pra',
      `    url: ${sim.url}`,
      `    caFile: ${caFile}`,
      `    proxy: { url: "${proxy.url}", username: ${PROXY_USER.username}, password: "env:PROXY_PASSWORD", noProxy: ${JSON.stringify(noProxy)} }`,
      '    reporting: { clientId: rep-client, clientSecret: "env:REP_SECRET" }',
      'reporting: { initialLookbackHours: 1, sliceMinutes: 60, retries: { max: 0 } }',
    ].join('\n');
    const config = parseConfigText(yaml, 'test.yaml', {
      env: { PROXY_PASSWORD: password, REP_SECRET: REPORTER.clientSecret },
    });
    const { log, lines } = capturedLogger();
    const rt = createRuntime(log, {
      clock: instantClock(clock),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
    });
    const store = new MemoryStore();
    return { w: buildReportWorker(reportWorkerSettings(config), rt, store), store, rt, lines };
  }

  it('pulls reports through the proxy; the proxy password is never logged', async () => {
    const before = proxy.tunnels.length;
    const { w, store, lines } = worker(PROXY_USER.password);
    await w.start();
    try {
      expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    } finally {
      await w.stop(1000);
    }
    expect((await store.reports.tableCounts()).session).toBe(20);
    expect(proxy.tunnels.slice(before)).toContain(sim.node);
    const basic = Buffer.from(`${PROXY_USER.username}:${PROXY_USER.password}`).toString('base64');
    expect(lines.join('\n')).not.toContain(PROXY_USER.password);
    expect(lines.join('\n')).not.toContain(basic);
  });

  it('a wrong proxy password fails the pull with the 407, without the password', async () => {
    const refused = proxy.refused;
    const { w, rt, lines } = worker('wrong-password-value');
    await w.start();
    let reason = '';
    try {
      expect(await w.runNow()).toEqual({ 'corp-pra': 'failed' });
      reason = (await rt.readiness.report()).components.reporting?.reason ?? '';
    } finally {
      await w.stop(1000);
    }
    expect(proxy.refused).toBeGreaterThan(refused);
    // The proxy is named, not the appliance behind it (issue 24, point 3).
    expect(reason).toContain(
      `[proxy.auth_failed] site corp-pra: proxy ${new URL(proxy.url).host} refused the proxy credentials (407)`,
    );
    expect(reason).not.toContain('wrong-password-value');
    expect(lines.join('\n')).not.toContain('wrong-password-value');
  });

  it('a host on noProxy is reached directly', async () => {
    const before = proxy.tunnels.length;
    const { w } = worker(PROXY_USER.password, ['127.0.0.1']);
    await w.start();
    try {
      expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    } finally {
      await w.stop(1000);
    }
    expect(proxy.tunnels.length).toBe(before);
  });

  it('the ECM channel (WebSocket upgrade) connects through a proxy', async () => {
    const open = await startConnectProxy();
    const l = await startLink(sim.url, caFile, new ScriptedHandler(), { extra: { proxy: { url: open.url } } });
    try {
      await until(() => l.link.status().state === 'connected', 'connected through the proxy');
      expect(open.tunnels).toContain(sim.node);
    } finally {
      await l.link.stop(200);
      await open.close();
    }
  });

  it('the ECM channel sends the proxy credentials on its own CONNECT (a proxy that demands them lets it through)', async () => {
    // The harness resolves env:SIM_SECRET only: the proxy's password is that value here.
    const password = ECM_ACCOUNT.clientSecret as string;
    const guarded = await startConnectProxy({ username: 'bridge', password });
    const l = await startLink(sim.url, caFile, new ScriptedHandler(), {
      extra: { proxy: { url: guarded.url, username: 'bridge', password: 'env:SIM_SECRET' } },
    });
    try {
      await until(() => l.link.status().state === 'connected', 'connected through the authenticating proxy');
      // OAuth (undici) and the WebSocket upgrade (the channel's own tunnel) both went through it.
      expect(guarded.tunnels.filter((t) => t === sim.node).length).toBeGreaterThanOrEqual(2);
      expect(guarded.refused).toBe(0);
      expect(l.lines.join('\n')).not.toContain(password);
    } finally {
      await l.link.stop(200);
      await guarded.close();
    }
  });

  it('a proxy URL with user:password@ is refused at validation, without echoing the password', () => {
    let message = '';
    try {
      parseConfigText(
        [
          'allowLiteralSecrets: true',
          'sites:',
          '  - name: corp',
          '    url: https://pra.corp.example',
          '    ecm: { clientId: c, clientSecret: s3cret-value }',
          `    proxy: { url: "http://bridge:${PROXY_USER.password}@proxy.corp.example:3128" }`,
        ].join('\n'),
        'proxy.yaml',
        { env: {} },
      );
    } catch (e) {
      message = String((e as Error).message);
    }
    expect(message).toContain('sites[0].proxy.url');
    expect(message).toContain('must not carry user:password@ (set proxy.username and proxy.password');
    expect(message).not.toContain(PROXY_USER.password);
  });
});
