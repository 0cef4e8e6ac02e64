import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { brokerHandler } from '../../src/appliance/broker-mapper.js';
import { brokerSettings } from '../../src/app/units/broker-unit.js';
import { parseConfigText } from '../../src/app/config-schema.js';
import { createBroker, type BrokerDeps } from '../../src/broker/create-broker.js';
import { CredentialIdSigner, type CredentialClaims } from '../../src/broker/credential-id.js';
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
 * A fresh credential id for each checkout, as a console gets from each list: ids are single-use
 * once their checkout is released. Re-issues a listed id's claims at a distinct time (an HMAC,
 * ~0.03 ms, counted in the get it is made for).
 */
export function freshCredentialIds(): (listedId: string) => string {
  const signer = new CredentialIdSigner(settings.broker.credentialIdKey, settings.broker.credentialIdTtlSeconds * 1000);
  let n = 0;
  return (listedId) => {
    const { expiresAt, ...claims } = JSON.parse(
      Buffer.from(listedId.split('.')[0]!, 'base64url').toString('utf8'),
    ) as CredentialClaims;
    return signer.issue(claims, expiresAt - settings.broker.credentialIdTtlSeconds * 1000 + ++n);
  };
}

/**
 * The broker as the ECM channel calls it: through the wire mapper (validation, conversion,
 * reveal), so a benchmark measures what a console request costs.
 */
export function benchBroker(deps: Omit<BrokerDeps, 'log' | 'instanceId'>): RequestHandler {
  const broker = createBroker(settings, { ...deps, log: silentLogger(), instanceId: 'bench' });
  return brokerHandler(() => broker, 'bench');
}
