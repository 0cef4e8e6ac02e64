/**
 * The composition root: the only place that turns configuration into concrete adapters and
 * connects them through their ports. CLI commands call these builders; nothing else constructs
 * an adapter.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { siteChecks } from './site-checks.js';
import { siteUnits } from './site-units.js';
import { brokerUnits } from './broker-unit.js';
import { OpsServer } from '../http/ops-server.js';
import type { Clock } from '../platform/clock.js';
import type { Config } from './config-schema.js';
import type { Readiness } from '../platform/readiness.js';
import type { UnitSpec } from '../platform/units.js';
import { reportingChecks, reportingUnit } from './reporting-unit.js';
import { storeCheck, storeUnit } from './store-unit.js';
import { vaultUnits } from './vault-unit.js';
import { vaultChecks } from './vault-checks.js';

export interface Runtime {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  clock: Clock;
  /** Stable for the process: ECM hello instanceId, lease owner. */
  instanceId: string;
}

/** The units of a running bridge, in start order (dependencies first). */
export function serviceUnits(config: Config, rt: Runtime): UnitSpec[] {
  return [
    storeUnit(config, rt),
    ...vaultUnits(config, rt),
    ...brokerUnits(config, rt),
    ...siteUnits(config, rt, 'broker'),
    reportingUnit(config, rt),
    { key: 'ops-server', slice: config.http, create: () => new OpsServer(config.http, rt) },
  ];
}

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** What to do when not ok. */
  fix?: string;
}

export interface Check {
  component: string;
  name: string;
  run(signal: AbortSignal): Promise<CheckResult>;
}

/** Everything `ecm-bridge check` verifies for this configuration, in display order. */
export function configChecks(config: Config, rt: Runtime): Check[] {
  return [
    {
      component: 'config',
      name: 'configuration',
      run: async () => ({
        ok: true,
        detail: `${config.sites.length} site(s), vault ${config.vault?.kind ?? 'none'}, store ${config.store.kind}`,
      }),
    },
    storeCheck(config, rt),
    ...vaultChecks(config, rt),
    ...siteChecks(config, rt),
    ...reportingChecks(config, rt),
  ];
}
