/**
 * The composition root of the running service: turns the configuration into units (each built
 * from its own typed slice) connected through their ports. Only src/app constructs adapters.
 */
import { OpsServer } from '../http/ops-server.js';
import { unit, unitKey, type UnitSpec } from '../platform/units.js';
import { brokerUnits } from './broker-unit.js';
import type { Config } from './config-schema.js';
import { reportingUnit } from './reporting-unit.js';
import type { Runtime } from './runtime.js';
import { siteUnits } from './site-units.js';
import { storeUnit } from './store-unit.js';
import { vaultUnits } from './vault-unit.js';

export const OPS_UNIT = unitKey<OpsServer>('ops-server');

/** The units of a running bridge, in start order (dependencies first). */
export function serviceUnits(config: Config, rt: Runtime): UnitSpec[] {
  return [
    storeUnit(config.store, rt),
    ...vaultUnits(config.vault, rt),
    ...brokerUnits(config, rt),
    ...siteUnits(config.sites, rt),
    reportingUnit(config, rt),
    unit({ key: OPS_UNIT, slice: config.http, create: (http) => new OpsServer(http, rt) }),
  ];
}
