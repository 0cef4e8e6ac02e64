import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SiteLink } from '../../../src/appliance/channel/site-link.js';
import { systemClock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { capturedLogger, ECM_ACCOUNT, ScriptedHandler, siteConfig, until, USER, writeCa } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

describe('ECM channel against the appliance simulator', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  beforeEach(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 100, maxRequestMs: CONSOLE_DEADLINE_MS });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterEach(async () => sim.stop());

  it('connects, says hello, answers a request, and logs no secret', async () => {
    const { log, lines } = capturedLogger();
    const readiness = new Readiness();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const handler = new ScriptedHandler();
    const node = new URL(sim.url).host;
    const link = new SiteLink(siteConfig(sim.url, caFile), {
      log,
      metrics,
      readiness,
      clock: systemClock,
      instanceId: 'replica-a',
    });
    // Every series exists before the first connection and request.
    const initial = await metrics.metrics();
    expect(initial).toContain(`ecm_bridge_channel_connected{site="sim",node="${node}"} 0`);
    expect(initial).toContain('ecm_bridge_channel_requests_total{site="sim",op="jump.search",outcome="ok"} 0');
    expect(initial).toContain('ecm_bridge_channel_reconnects_total{site="sim",reason="unavailable"} 0');
    await link.start(handler);
    await until(() => link.status().state === 'connected', 'connected');
    expect(link.status().role).toBe('active');
    expect(sim.hub.connections()).toEqual([
      { instanceId: 'replica-a', group: 'Default', role: 'active', clientId: 'ecm-client', heartbeatMs: 100 },
    ]);
    // The appliance lists the ECM by what its hello announces: the release actually running.
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(sim.hub.announced()).toEqual([{ name: 'ecm-bridge', version: pkg.version }]);
    const out = await sim.hub.request('Default', 'credentials.get', USER, { credentialId: 'c1' });
    expect(out).toMatchObject({
      answeredBy: 'ecm',
      ecmInstanceId: 'replica-a',
      result: { credential: { password: 'S3cr3t-P@ss' } },
    });
    expect(handler.calls[0]).toMatchObject({ op: 'credentials.get', context: { user: { username: 'CORP\\jdoe' } } });
    expect((await readiness.report()).components['site:sim']).toMatchObject({ ready: true });
    const text = await metrics.metrics();
    expect(text).toContain('ecm_bridge_channel_requests_total{site="sim",op="credentials.get",outcome="ok"} 1');
    expect(text).toContain('ecm_bridge_channel_state{site="sim",state="connected"} 1');
    expect(text).toContain(`ecm_bridge_channel_connected{site="sim",node="${node}"} 1`);
    await link.stop(1000);
    expect(await metrics.metrics()).toContain(`ecm_bridge_channel_connected{site="sim",node="${node}"} 0`);
    expect(link.status().state).toBe('stopped');
    const all = lines.join('');
    expect(all).not.toContain('S3cr3t-P@ss');
    expect(all).not.toContain(ECM_ACCOUNT.clientSecret as string);
    for (const t of [sim.tokens]) expect(t.mintCount).toBe(1);
  });
});
