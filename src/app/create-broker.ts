import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Config } from './config-schema.js';
import { ServiceError } from '../platform/errors.js';
import type { Registry } from '../platform/metrics.js';
import type { StateStore } from '../store/store-ports.js';
import type { VaultPort } from '../vault/vault-port.js';
import { Broker } from '../broker/broker.js';
import { BrokerMetrics } from '../broker/broker-metrics.js';
import { CredentialIdSigner } from '../broker/credential-id.js';
import { CredentialService, fillTemplate } from '../broker/credential-service.js';
import { EndpointMatcher } from '../broker/endpoint-matcher.js';
import { JumpSearch } from '../broker/jump-search.js';
import { LeaseKeeper } from '../broker/lease-keeper.js';
import { ReleasePolicy } from '../broker/release-policy.js';
import { UserMapper } from '../broker/user-mapper.js';

export interface BrokerDeps {
  vault: VaultPort;
  state: StateStore;
  log: Logger;
  metrics: Registry;
  clock: Clock;
  /** Stable for the process; owner of the leases it creates. */
  instanceId: string;
}

export { Broker };
export type { ExplainInput, ExplainReport } from '../broker/broker.js';

/** Builds the broker from the `userMapping`, `endpointMatching`, `broker` and `vault` sections. */
export function createBroker(config: Config, deps: BrokerDeps): Broker {
  const b = config.broker;
  if (!b)
    throw new ServiceError(
      'config.invalid',
      'the `broker` section (with credentialIdKey) is required for the credential broker',
      { op: 'broker.create' },
    );
  const log = deps.log.child({ component: 'broker' });
  const metrics = new BrokerMetrics(deps.metrics);
  const mapper = new UserMapper(config.userMapping);
  const matcher = new EndpointMatcher(config.endpointMatching);
  const policy = new ReleasePolicy(b.policies);
  const checkinTemplate = config.vault?.checkinReason ?? 'ecm-bridge: released by {user} session {lsid}';
  const keeper = new LeaseKeeper(b.leases, {
    state: deps.state,
    vault: deps.vault,
    log,
    clock: deps.clock,
    metrics,
    instanceId: deps.instanceId,
    checkinReason: (lease) =>
      fillTemplate(checkinTemplate, { user: lease.consoleUser, vaultUser: lease.vaultUser, lsid: lease.lsid ?? '-' }),
  });
  const credentials = new CredentialService({
    config,
    mapper,
    matcher,
    policy,
    keeper,
    metrics,
    log,
    signer: new CredentialIdSigner(b.credentialIdKey, b.credentialIdTtlSeconds * 1000),
    vault: deps.vault,
    state: deps.state,
    clock: deps.clock,
    instanceId: deps.instanceId,
  });
  return new Broker({
    defaultSite: config.sites.find((s) => s.ecm?.enabled)?.name ?? 'default',
    checkinOnShutdown: b.checkinOnShutdown,
    mapper,
    matcher,
    policy,
    credentials,
    keeper,
    metrics,
    log,
    search: new JumpSearch(b.search, deps.vault),
    vault: deps.vault,
    state: deps.state,
    clock: deps.clock,
  });
}
