/**
 * The composition root of the running service: turns the configuration into units (each built
 * from its own typed slice) connected through their ports. Only src/app constructs adapters.
 */
import { OpsServer } from '../../http/ops-server.js';
import { adminUnits } from './admin-unit.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import { brokerUnits } from './broker-unit.js';
import type { Config } from '../config-schema.js';
import { REPORTING_UNIT, reportingUnit } from './reporting-unit.js';
import type { Runtime } from '../runtime.js';
import { siteUnitKey, siteUnits } from './site-units.js';
import type { EarlyStoreOpen } from '../early-store.js';
import { createStatusSource } from '../status/status-source.js';
import { STORE_UNIT, storeUnit } from './store-unit.js';
import { vaultUnits } from './vault-unit.js';

export const OPS_UNIT = unitKey<OpsServer>('ops-server');

/**
 * The units of a running bridge, dependencies first. Each starts once its `deps` (and `after`)
 * have: the vault opens while the store does; the broker waits for the store and the vault, the
 * reporting worker and the ops server for the store, the ECM channels for the store and the broker. `current` is the
 * configuration running now (it changes on reload while the ops server keeps running);
 * `earlyStore`, `serve`'s store open begun before the config was loaded, is for the first start.
 */
export function serviceUnits(
  config: Config,
  rt: Runtime,
  current: () => Config = () => config,
  earlyStore?: EarlyStoreOpen,
): UnitSpec[] {
  return [
    storeUnit(config.store, rt, earlyStore),
    ...adminUnits(config, rt, current),
    ...vaultUnits(config.vault, rt),
    ...brokerUnits(config, rt),
    ...siteUnits(config.sites, rt),
    reportingUnit(config, rt),
    unit({
      key: OPS_UNIT,
      slice: config.http,
      // No port opens before the store did: a second `serve` on a locked data directory fails first.
      after: [STORE_UNIT],
      // On a new address the new server starts while the old one still answers (a new address
      // that cannot be bound leaves the old one serving); the same address is still bound by the
      // old server (Node 20 has no SO_REUSEPORT for it), so there the old one stops first.
      overlap: (previous, next) => previous.host !== next.host || previous.port !== next.port || next.port === 0,
      // The status page finds the other units when asked, so it never holds a replaced one.
      create: (http, units) =>
        new OpsServer(http, {
          ...rt,
          status: createStatusSource({
            rt,
            config: current,
            site: (name) => units.live(siteUnitKey(name))(),
            reporting: units.live(REPORTING_UNIT),
            store: units.live(STORE_UNIT),
          }),
        }),
    }),
  ];
}
