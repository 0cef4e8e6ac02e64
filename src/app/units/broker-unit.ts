import type { BrokerSettings } from '../../broker/broker-config.js';
import { createBroker } from '../../broker/create-broker.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import type { Broker } from '../../broker/broker.js';
import type { Config } from '../config-schema.js';
import type { Runtime } from '../runtime.js';
import { STORE_UNIT } from './store-unit.js';
import { VAULT_UNIT } from './vault-unit.js';

/** The broker's slice of the whole configuration (its settings come from several sections). */
export function brokerSettings(config: Config): BrokerSettings | undefined {
  if (!config.broker || !config.vault) return undefined;
  return {
    broker: config.broker,
    userMapping: config.userMapping,
    endpointMatching: config.endpointMatching,
    release: {
      durationMinutes: config.vault.releaseDurationMinutes,
      reasonTemplate: config.vault.reasonTemplate,
      checkinReason: config.vault.checkinReason,
    },
    defaultSite: config.sites.find((s) => s.ecm?.enabled)?.name ?? 'default',
  };
}

export const BROKER_UNIT = unitKey<Broker>('broker');

/**
 * The `broker` unit: needs the vault and store units before it. Absent when the config has no
 * `broker` or no `vault` section. A reload that changes only, say, the reporting schedule leaves
 * the broker (and its lease sweeper) running.
 */
export function brokerUnits(config: Config, rt: Runtime): UnitSpec[] {
  const settings = brokerSettings(config);
  if (!settings) return [];
  return [
    unit({
      key: BROKER_UNIT,
      slice: settings,
      deps: [VAULT_UNIT, STORE_UNIT],
      create: (slice, units) =>
        createBroker(slice, {
          vault: units.get(VAULT_UNIT).port,
          state: units.get(STORE_UNIT).store.state,
          log: rt.log,
          metrics: rt.metrics,
          clock: rt.clock,
          instanceId: rt.instanceId,
          sharedStore: units.get(STORE_UNIT).sharedByReplicas,
        }),
    }),
  ];
}
