import type { Config } from './config-schema.js';
import type { Component } from '../platform/lifecycle.js';
import type { UnitSpec } from '../platform/units.js';
import type { Store } from '../store/store-ports.js';
import type { VaultPort } from '../vault/vault-port.js';
import type { Runtime } from './service-units.js';
import { createBroker } from './create-broker.js';

/**
 * The `broker` unit for serviceUnits: needs the `vault` unit (component exposing `.port`) and the
 * `store` unit (component exposing `.store`) before it. Absent when the config has no `broker`
 * or no `vault` section. Its slice holds every setting the broker reads, so a reload that changes only, say,
 * the reporting schedule leaves the broker (and its lease sweeper) running.
 */
export function brokerUnits(config: Config, rt: Runtime): UnitSpec[] {
  if (!config.broker || !config.vault) return [];
  const slice = {
    userMapping: config.userMapping,
    endpointMatching: config.endpointMatching,
    broker: config.broker,
    release: {
      minutes: config.vault?.releaseDurationMinutes,
      reason: config.vault?.reasonTemplate,
      checkin: config.vault?.checkinReason,
    },
    site: config.sites.find((s) => s.ecm?.enabled)?.name,
  };
  return [
    {
      key: 'broker',
      slice,
      deps: ['vault', 'store'],
      create: (get) =>
        createBroker(config, {
          vault: get<Component & { port: VaultPort }>('vault').port,
          state: get<Component & { store: Store }>('store').store.state,
          log: rt.log,
          metrics: rt.metrics,
          clock: rt.clock,
          instanceId: rt.instanceId,
        }),
    },
  ];
}
