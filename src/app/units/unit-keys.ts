import { BROKER_UNIT } from './broker-unit.js';
import { REPORTING_UNIT } from './reporting-unit.js';
import { OPS_UNIT } from './service-units.js';
import { siteUnitKey } from './site-units.js';
import { STORE_UNIT } from './store-unit.js';
import { VAULT_UNIT } from './vault-unit.js';

/** The typed names of the service's units: `service.unit(UNITS.broker)` is a Broker, no cast. */
export const UNITS = {
  store: STORE_UNIT,
  vault: VAULT_UNIT,
  broker: BROKER_UNIT,
  site: siteUnitKey,
  reporting: REPORTING_UNIT,
  ops: OPS_UNIT,
};
