import type { BrokerSettings } from '../broker/broker-config.js';
import { createBroker } from '../broker/create-broker.js';
import { unit, type UnitSpec } from '../platform/units.js';
import type { Config } from './config-schema.js';
import type { Runtime } from './runtime.js';
import { UNITS } from './unit-keys.js';

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
      key: UNITS.broker,
      slice: settings,
      deps: [UNITS.vault, UNITS.store],
      create: (slice, units) =>
        createBroker(slice, {
          vault: units.get(UNITS.vault).port,
          state: units.get(UNITS.store).store.state,
          log: rt.log,
          metrics: rt.metrics,
          clock: rt.clock,
          instanceId: rt.instanceId,
        }),
    }),
  ];
}
