import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Registry } from '../platform/metrics.js';
import type { VaultPort } from '../vault/vault-port.js';
import { Broker } from './broker.js';
import type { BrokerSettings } from './broker-config.js';
import { BrokerMetrics } from './broker-metrics.js';
import { checkinReasonText } from './checkin-reason.js';
import { CredentialIdSigner } from './credential-id.js';
import { CredentialService } from './credential-service.js';
import { EndpointMatcher } from './endpoint-matcher.js';
import { JumpSearch } from './jump-search.js';
import type { LeaseStore } from './lease-store-port.js';
import { LeaseKeeper } from './lease-keeper.js';
import { ReleasePolicy } from './release-policy.js';
import { UserMapper } from './user-mapper.js';

/** The ports and process facilities the broker runs on; the composition root supplies them. */
export interface BrokerDeps {
  vault: VaultPort;
  state: LeaseStore;
  log: Logger;
  metrics: Registry;
  clock: Clock;
  /** Stable for the process; owner of the leases it creates. */
  instanceId: string;
  /**
   * Other replicas may use the same store (SQL Server). Without it (the embedded store, locked to
   * one process) every other instance on record is certainly dead.
   */
  sharedStore?: boolean;
}

/** Builds the broker from its settings slice and its ports. */
export function createBroker(settings: BrokerSettings, deps: BrokerDeps): Broker {
  const b = settings.broker;
  const log = deps.log.child({ component: 'broker' });
  const metrics = new BrokerMetrics(deps.metrics);
  const mapper = new UserMapper(settings.userMapping);
  const matcher = new EndpointMatcher(settings.endpointMatching);
  const policy = new ReleasePolicy(b.policies);
  const keeper = new LeaseKeeper(b.leases, {
    state: deps.state,
    vault: deps.vault,
    log,
    clock: deps.clock,
    metrics,
    instanceId: deps.instanceId,
    sharedStore: deps.sharedStore ?? false,
    checkinReason: (lease, reason) => checkinReasonText(settings.release.checkinReason, lease, reason, deps.instanceId),
  });
  const credentials = new CredentialService({
    release: settings.release,
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
    defaultSite: settings.defaultSite,
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
