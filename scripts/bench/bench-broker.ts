import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { brokerHandler } from '../../src/appliance/broker-mapper.js';
import { brokerSettings } from '../../src/app/units/broker-unit.js';
import { parseConfigText } from '../../src/app/config-schema.js';
import { createBroker, type BrokerDeps } from '../../src/broker/create-broker.js';
import { consoleUserKey, CredentialIdSigner, endpointKey } from '../../src/broker/credential-id.js';
import { EndpointMatcher } from '../../src/broker/endpoint-matcher.js';
import { UserMapper } from '../../src/broker/user-mapper.js';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
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
 * once their checkout is released. Opens a listed id (sealed: only with the key and the binding
 * the broker checks, console user, vault user and endpoint) and seals its claims again at a
 * distinct time (~0.03 ms, counted in the get it is made for).
 */
export function freshCredentialIds(): (listedId: string, context: RequestContext) => string {
  const ttlMs = settings.broker.credentialIdTtlSeconds * 1000;
  const signer = new CredentialIdSigner(settings.broker.credentialIdKey, ttlMs);
  const mapper = new UserMapper(settings.userMapping);
  const matcher = new EndpointMatcher(settings.endpointMatching);
  let n = 0;
  return (listedId, context) => {
    const binding = {
      consoleUser: consoleUserKey(context.user),
      vaultUser: mapper.resolve({ user: context.user }),
      endpoint: endpointKey(matcher.target(context.endpoint ?? {})),
    };
    const { expiresAt, ...claims } = signer.verify(listedId, binding, Date.now());
    return signer.issue(claims, expiresAt - ttlMs + ++n);
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
