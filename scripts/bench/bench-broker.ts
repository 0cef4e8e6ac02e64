import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { brokerHandler } from '../../src/appliance/broker-mapper.js';
import { brokerSettings } from '../../src/app/units/broker-unit.js';
import { parseConfigText } from '../../src/app/config-schema.js';
import { createBroker, type BrokerDeps } from '../../src/broker/create-broker.js';
import { silentLogger } from '../../src/platform/logger.js';

/** The benchmarks' broker: CORP users mapped to their UPN, nothing else configured. */
const CONFIG = `
allowLiteralSecrets: true
vault: { kind: passwordsafe, url: https://vault.test/x, auth: { method: apikey, apiKey: k } }
userMapping:
  domains: { CORP: corp.example.com }
  rules: [{ name: corp, match: { domain: CORP }, transform: { domain: to-upn, case: lower } }]
broker: { credentialIdKey: bench-credential-id-key-0123456789abcdef }
`;

const settings = brokerSettings(parseConfigText(CONFIG, 'bench.yaml', { env: {} }))!;

/**
 * The broker as the ECM channel calls it: through the wire mapper (validation, conversion,
 * reveal), so a benchmark measures what a console request costs.
 */
export function benchBroker(deps: Omit<BrokerDeps, 'log' | 'instanceId'>): RequestHandler {
  const broker = createBroker(settings, { ...deps, log: silentLogger(), instanceId: 'bench' });
  return brokerHandler(() => broker, 'bench');
}
