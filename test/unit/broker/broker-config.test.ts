import { describe, expect, it } from 'vitest';
import { brokerUnits } from '../../../src/app/units/broker-unit.js';
import { UNITS } from '../../../src/app/units/unit-keys.js';
import { ReleasePolicy } from '../../../src/broker/release-policy.js';
import { UserMapper } from '../../../src/broker/user-mapper.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { UnitSet } from '../../../src/platform/units.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { FakeVault } from '../../../src/vault/fake-vault.js';
import { brokerConfig, ctx, T0, wireBroker } from './broker-fixture.js';

describe("the example configuration's broker sections", () => {
  const cfg = loadConfigFile('config/ecm-bridge.example.yaml', { env: {} });

  it('maps the documented cases (different and missing domain parts, contractors, templates)', () => {
    const m = new UserMapper(cfg.userMapping);
    const provider = { name: 'Corp AD', kind: 'ldap' };
    const map = (username: string) => {
      const d = m.decide({ user: { username, securityProvider: provider } });
      return d.outcome === 'mapped' ? d.vaultUser : d.outcome;
    };
    expect(map('CORP\\JDoe')).toBe('jdoe@corp.example.com');
    expect(map('jdoe@corp.example.com')).toBe('jdoe@corp.example.com');
    expect(map('jdoe')).toBe('jdoe@corp.example.com');
    expect(map('CORP\\ext-bob')).toBe('denied');
    expect(map('OTHER\\jdoe')).toBe('unmapped');
    expect(m.decide({ user: { username: 'john.smith@partner.example' } })).toMatchObject({
      vaultUser: 'jsmith@corp.example.com',
      rule: 'templated',
    });
  });

  it('parses the policies, leases and search settings', () => {
    expect(cfg.broker?.leases).toEqual({ sweepIntervalSeconds: 30, heartbeatSeconds: 15, staleAfterSeconds: 90 });
    expect(cfg.broker?.search.jumpoints).toEqual({ CORP: 'corp-jumpoint' });
    const policy = new ReleasePolicy(cfg.broker!.policies);
    const prod = {
      ...ctx(),
      site: 'corp',
      jumpItem: { jumpGroup: { name: 'Production' } },
      session: { externalKey: 'CHG-1' },
    };
    expect(policy.evaluate(prod, new Date(T0)).every((v) => v.ok)).toBe(true);
  });
});

describe('brokerUnits', () => {
  it('builds the broker from the vault and store units and runs its lease maintenance', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore();
    const vault = new FakeVault(clock);
    const rt = {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
      clock,
      instanceId: 'unit-test',
    };
    const config = brokerConfig();
    const units = new UnitSet(rt.log, 1000);
    await units.apply([
      {
        key: UNITS.store,
        slice: 1,
        create: () => ({ name: 'store', store, start: async () => {}, stop: async () => {} }),
      },
      {
        key: UNITS.vault,
        slice: 1,
        create: () => ({ name: 'vault', port: vault, start: async () => {}, stop: async () => {} }),
      },
      ...brokerUnits(config, rt),
    ]);
    const broker = wireBroker(units.get(UNITS.broker));
    expect(store.state.instances.get('unit-test')).toEqual(new Date(T0));
    await expect(
      broker.handle('credentials.list', ctx({ user: { username: 'nobody' } }), {}, new AbortController().signal),
    ).rejects.toThrow(/No user-mapping rule/);
    await units.stopAll();
  });

  it('is absent without a broker or vault section', () => {
    const rt = {
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
      clock: new ManualClock(),
      instanceId: 'x',
    };
    expect(brokerUnits({ ...brokerConfig(), broker: undefined }, rt)).toEqual([]);
    expect(brokerUnits({ ...brokerConfig(), vault: undefined }, rt)).toEqual([]);
  });
});
