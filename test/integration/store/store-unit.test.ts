import { UNITS } from '../../../src/app/units/unit-keys.js';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import type { Config } from '../../../src/app/config-schema.js';
import { systemClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { UnitSet } from '../../../src/platform/units.js';
import { configChecks } from '../../../src/app/checks/checks.js';
import { serviceUnits } from '../../../src/app/units/service-units.js';
import { makeSession } from './session-fixture.js';
import { loadMigrations } from '../../../src/store/migrations.js';

const runtime = () => ({
  log: silentLogger(),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  readiness: new Readiness(),
  clock: systemClock,
  instanceId: 'test',
});
const config: Config = parseConfigText(
  'store: { kind: embedded, dataDir: "memory://" }\nhttp: { port: 0 }\nlog: { level: silent }\n',
  'store-unit.yaml',
);

describe('store unit', () => {
  it('is the first service unit; started, it has migrated, serves later units and reports ready; stopped, it is gone', async () => {
    const rt = runtime();
    const units = serviceUnits(config, rt);
    expect(units[0]!.key.name).toBe('store');
    expect(units[0]!.slice).toBe(config.store);
    const set = new UnitSet(rt.log, 1000);
    await set.apply([units[0]!]);
    const component = set.get(UNITS.store);
    expect(await component.store.schemaVersion()).toBe(loadMigrations('postgres').at(-1)!.version);
    await component.store.reports.writeSessions([makeSession('unit-1')]);
    await component.store.reports.writeSessions([makeSession('unit-1')]);
    // Sessions are counted once, by the reporting worker; the store counts events and batch time.
    expect(rt.metrics.getSingleMetric('ecm_bridge_store_sessions_written_total')).toBeUndefined();
    expect(await rt.metrics.metrics()).toContain('ecm_bridge_store_write_duration_seconds_count{adapter="pglite"} 2');
    expect((await rt.metrics.getSingleMetric('ecm_bridge_store_events_written_total')!.get()).values[0]!.value).toBe(6);
    expect((await rt.readiness.report()).components.store).toEqual({
      ready: true,
      critical: true,
      reason: 'embedded store',
    });
    await set.stopAll();
    expect((await rt.readiness.report()).components.store).toBeUndefined();
    expect(() => component.store).toThrow('store unit used before it started');
  });

  it('adds a store check to `ecm-bridge check` (its run is tested in mssql-connect.test.ts)', () => {
    const store = configChecks(config, runtime()).filter((c) => c.component === 'store');
    expect(store.map((c) => c.name)).toEqual(['embedded database']);
  });
});
