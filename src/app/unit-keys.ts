import type { ApplianceLink } from '../appliance/appliance-link.js';
import type { Broker } from '../broker/broker.js';
import type { OpsServer } from '../http/ops-server.js';
import type { Component } from '../platform/lifecycle.js';
import { unitKey } from '../platform/units.js';
import type { ReportWorker } from '../reporting/create-report-worker.js';
import type { StoreComponent } from './store-unit.js';
import type { VaultComponent } from './vault-unit.js';

/** The typed names of the service's units: `service.unit(UNITS.broker)` is a Broker, no cast. */
export const UNITS = {
  store: unitKey<StoreComponent>('store'),
  vault: unitKey<VaultComponent>('vault'),
  broker: unitKey<Broker>('broker'),
  site: (name: string) => unitKey<ApplianceLink & Component>(`site:${name}`),
  reporting: unitKey<ReportWorker>('reporting'),
  ops: unitKey<OpsServer>('ops-server'),
};
