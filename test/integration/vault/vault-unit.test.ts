import { UNITS } from '../../../src/app/units/unit-keys.js';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { BridgeService } from '../../../src/app/bridge-service.js';
import { configChecks } from '../../../src/app/checks/checks.js';
import { componentHealth } from '../../../src/app/status/status-signals.js';
import { until } from '../../helpers/until.js';
import { startBuiltCli } from '../../helpers/cli.js';
import { DEMO_KEY, JDOE, startHarness, WEB01, type Harness } from './ps-harness.js';

describe('vault unit, check and simulator command', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const yaml = (probe: boolean) => `
allowLiteralSecrets: true
store: { kind: embedded, dataDir: "memory://" }
vault:
  kind: passwordsafe
  url: ${h.sim.url}
  caFile: ${h.caFile}
  auth: { method: apikey, apiKey: ${DEMO_KEY} }
${probe ? '  probeUser: ecm-probe@corp.example.com\n' : ''}http: { host: 127.0.0.1, port: 0 }
log: { level: silent }
`;
  const runtime = () => ({
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    readiness: new Readiness(),
    clock: h.clock,
    instanceId: randomUUID(),
  });

  it('runs as the `vault` unit: exposes the port, reports readiness, signs out on stop', async () => {
    const rt = runtime();
    const service = new BridgeService(parseConfigText(yaml(true), 'test.yaml'), rt, 1000);
    await service.start();
    const port = service.unit(UNITS.vault).port;
    expect((await port.listAccounts(JDOE, WEB01)).length).toBe(3);
    expect((await rt.readiness.report()).components.vault).toMatchObject({ ready: true });
    const before = h.sim.sessions.signOuts.get(JDOE) ?? 0;
    await service.stop();
    expect(h.sim.sessions.signOuts.get(JDOE)).toBe(before + 1);
    expect((await rt.readiness.report()).components.vault).toBeUndefined();
  });

  it('a vault that fails shows one health: the same code and message on /readyz, the status page and `check`', async () => {
    const rt = runtime();
    const config = parseConfigText(yaml(true), 'test.yaml');
    h.sim.faults.failNext(1_000, 502, { route: 'GET Workgroups' });
    const service = new BridgeService(config, rt, 1000);
    try {
      await service.start();
      await until(async () => (await rt.readiness.report()).components.vault?.ready === false, 'vault not ready');
      const readyz = (await rt.readiness.report()).components.vault!;
      expect(readyz).toMatchObject({ ready: false, critical: true, code: 'vault.unavailable' });
      const shown = `[vault.unavailable] ${readyz.reason}`;
      expect(readyz.reason).toMatch(/unavailable \(HTTP 502\)/);
      expect(componentHealth(await rt.readiness.report())).toContainEqual({
        component: 'vault',
        ready: false,
        reason: shown,
      });
      const check = configChecks(config, runtime()).find((c) => c.component === 'vault')!;
      expect(await check.run(new AbortController().signal)).toMatchObject({
        ok: false,
        detail: shown,
        cause: 'vault:vault.unavailable',
      });
    } finally {
      h.sim.faults.clear();
      await service.stop();
    }
  });

  it('`check` signs in as the probe user and explains what to fix without one', async () => {
    const ok = configChecks(parseConfigText(yaml(true), 'test.yaml'), runtime()).find((c) => c.component === 'vault')!;
    expect(await ok.run(AbortSignal.timeout(10_000))).toMatchObject({
      ok: true,
      detail: expect.stringContaining('ecm-probe@corp.example.com'),
    });
    const missing = configChecks(parseConfigText(yaml(false), 'test.yaml'), runtime()).find(
      (c) => c.component === 'vault',
    )!;
    const r = await missing.run(AbortSignal.timeout(10_000));
    expect(r.ok).toBe(false);
    expect(r.fix).toMatch(/vault\.probeUser/);
    expect(h.sim.sessions.liveSessions()).not.toContain('ecm-probe@corp.example.com');
  });

  it('`ecm-bridge sim passwordsafe` serves the demo seed over HTTPS until interrupted', async () => {
    const caOut = join(mkdtempSync(join(tmpdir(), 'ps-ca-')), 'ca.pem');
    const child = startBuiltCli(['sim', 'passwordsafe', '--port', '0', '--ca-out', caOut]);
    try {
      const url = /listening: (\S+)/.exec(await child.waitFor(/listening: (\S+)[\s\S]*Ctrl-C/))![1]!;
      expect(child.output()).toMatch(/4 systems, 7 accounts, 4 users/);
      expect(url).toMatch(/^https:\/\//);
      const dispatcher = new Agent({ connect: { ca: [readFileSync(caOut, 'utf8')] } });
      const res = await request(`${url}/Auth/SignAppin`, {
        method: 'POST',
        headers: { authorization: `PS-Auth key=${DEMO_KEY}; runas=${JDOE};` },
        dispatcher,
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      await dispatcher.close();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
