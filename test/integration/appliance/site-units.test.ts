import { afterEach, describe, expect, it } from 'vitest';
import { UNITS } from '../../../src/app/units/unit-keys.js';
import type { CredentialBroker, OfferedCredential } from '../../../src/broker/broker-port.js';
import { siteUnits } from '../../../src/app/units/site-units.js';
import { systemClock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import type { Component } from '../../../src/platform/lifecycle.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { UnitSet, type UnitSpec } from '../../../src/platform/units.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ECM_ACCOUNT, until, USER, writeCa } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

/** Stands in for the broker unit: a Component that is also the CredentialBroker; only `list` is used. */
class FakeBroker implements Component, Pick<CredentialBroker, 'list' | 'undelivered'> {
  readonly name = 'broker';
  constructor(readonly generation = 0) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async list(): Promise<OfferedCredential[]> {
    return [{ id: `gen-${this.generation}`, displayName: 'x', username: 'x', kind: 'password', source: 'local' }];
  }
  async undelivered(): Promise<void> {}
}

describe('siteUnits as service units', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('starts one link per ECM site, keeps it across an unchanged reload, replaces it when its site changes', async () => {
    const sim = new ApplianceSimulator({
      accounts: [ECM_ACCOUNT],
      heartbeatMs: 200,
      maxRequestMs: CONSOLE_DEADLINE_MS,
    });
    await sim.start();
    cleanups.push(() => sim.stop());
    const caFile = writeCa(sim.caPem);
    const yaml = (max: number) => `
allowLiteralSecrets: true
sites:
  - { name: a, url: "${sim.url}", caFile: "${caFile}", ecm: { clientId: ${ECM_ACCOUNT.clientId}, clientSecret: ${ECM_ACCOUNT.clientSecret}, maxConcurrentRequests: ${max} } }
  - { name: reporting-only, url: "${sim.url}", reporting: { clientId: r, clientSecret: r-secret } }
vault: { kind: passwordsafe, url: "https://vault.example.com/BeyondTrust/api/public/v3", auth: { method: apikey, apiKey: k } }
broker: { credentialIdKey: 0123456789abcdef0123456789abcdef }
`;
    const rt = {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
      clock: systemClock,
      instanceId: 'svc',
    };
    const units = new UnitSet(rt.log, 500);
    cleanups.push(() => units.stopAll());
    const specs = (max: number, generation = 0): UnitSpec[] => {
      const config = parseConfigText(yaml(max), 'svc.yaml', { env: {} });
      return [
        { key: UNITS.broker, slice: { generation }, create: () => new FakeBroker(generation) as never },
        ...siteUnits(config.sites, rt),
      ];
    };
    expect(specs(8).map((s) => s.key.name)).toEqual(['broker', 'site:a']);
    await units.apply(specs(8));
    await until(async () => (await rt.readiness.report()).components['site:a']?.ready === true, 'site a ready');
    expect((await sim.hub.request('Default', 'credentials.list', USER, {})).answeredBy).toBe('ecm');
    expect(await units.apply(specs(8))).toMatchObject({ kept: ['broker', 'site:a'], replaced: [] });
    expect(sim.upgrades.get(101)).toBe(1);
    expect(await units.apply(specs(16))).toMatchObject({ kept: ['broker'], replaced: ['site:a'] });
    await until(() => sim.upgrades.get(101) === 2 && sim.hub.connections().length === 1, 'new link connected');
    await until(async () => (await rt.readiness.report()).components['site:a']?.ready === true, 'site a ready again');

    // Replacing the broker (e.g. new mapping rules) keeps the channel: the link relays to the new one.
    expect(await units.apply(specs(16, 1))).toMatchObject({ kept: ['site:a'], replaced: ['broker'] });
    const answer = await sim.hub.request('Default', 'credentials.list', USER, {});
    expect(JSON.stringify(answer)).toContain('gen-1');
    expect(sim.upgrades.get(101)).toBe(2);
  });
});
