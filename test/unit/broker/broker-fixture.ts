import { Writable } from 'node:stream';
import type { RequestContext } from '../../../src/protocol/ecm-protocol.js';
import { brokerHandler } from '../../../src/appliance/broker-mapper.js';
import { brokerSettings } from '../../../src/app/units/broker-unit.js';
import type { Broker } from '../../../src/broker/broker.js';
import { createBroker } from '../../../src/broker/create-broker.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { MemoryStateStore } from '../../../src/store/memory/store.js';
import type { LeaseStore } from '../../../src/broker/lease-store-port.js';
import { FakeVault } from '../../../src/vault/fake-vault.js';

export const PASSWORD = 'S3cr3t-Pa55word!x';
export const SSH_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
export const T0 = Date.UTC(2026, 0, 7, 10, 0); // a Wednesday, 11:00 in Berlin

export const BROKER_YAML = `
allowLiteralSecrets: true
vault:
  kind: passwordsafe
  url: https://vault.test/BeyondTrust/api/public/v3
  auth: { method: apikey, apiKey: literal-api-key }
  releaseDurationMinutes: 30
userMapping:
  domains: { CORP: corp.example.com }
  rules:
    - name: contractors-denied
      match: { username: "regex:^(CORP\\\\\\\\)?ext-" }
      deny: External accounts cannot receive injected credentials
    - name: corp-to-upn
      match: { domain: CORP }
      transform: { domain: to-upn, case: lower }
endpointMatching:
  aliases: { web01: [web01-legacy] }
  jumpGroups:
    - { jumpGroup: Web servers, workgroups: [CORP] }
broker:
  credentialIdKey: 0123456789abcdef0123456789abcdef-test
  credentialIdTtlSeconds: 300
  leases: { sweepIntervalSeconds: 30, heartbeatSeconds: 15, staleAfterSeconds: 90 }
  policies:
    - name: production-needs-ticket
      jumpGroups: [Production]
      requireExternalKey: "^CHG-\\\\d+$"
  search: { maxQueryLength: 16, maxLimit: 5, jumpoints: { CORP: corp-jumpoint } }
`;

/** The test config; `tweak` edits the YAML text (e.g. to add a key to a section). */
export function brokerConfig(tweak: (yaml: string) => string = (y) => y) {
  return parseConfigText(tweak(BROKER_YAML), 'broker-test.yaml', { env: {} });
}

export const ctx = (over: Partial<RequestContext> = {}): RequestContext => ({
  user: { id: 42, username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 9001, name: 'web01 RDP', type: 'rdp', jumpGroup: { id: 7, name: 'Web servers' } },
  session: { lsid: 'c0ffee01', externalKey: 'CHG-1234' },
  ...over,
});

/** A broker over the fake vault and the memory store, with a manual clock and captured logs. */
export function brokerHarness<S extends LeaseStore = MemoryStateStore>(
  options: {
    tweak?: (yaml: string) => string;
    instanceId?: string;
    /** The store (default: a new memory store); replicas share one. */
    state?: S;
    clock?: ManualClock;
    /** Another harness's vault (replicas of one bridge share one Password Safe). */
    vault?: FakeVault;
    /** Other replicas may share the store (SQL Server), as opposed to the embedded store's one process. */
    sharedStore?: boolean;
  } = {},
) {
  const clock = options.clock ?? new ManualClock(T0);
  const vault = options.vault ?? grantAll(new FakeVault(clock));
  const state = options.state ?? (new MemoryStateStore() as LeaseStore as S);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const log = createLogger({ level: 'debug' }, sink);
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const config = brokerConfig(options.tweak);
  const broker = wireBroker(
    createBroker(brokerSettings(config)!, {
      vault,
      state,
      log,
      metrics,
      clock,
      instanceId: options.instanceId ?? 'instance-a',
      ...(options.sharedStore !== undefined && { sharedStore: options.sharedStore }),
    }),
  );
  return { broker, vault, state, clock, lines, metrics, config, signal: new AbortController().signal };
}

/** The accounts the test vault users may check out. */
function grantAll(vault: FakeVault): FakeVault {
  return vault
    .grant(
      'jdoe@corp.example.com',
      {
        systemId: 10,
        systemName: 'web01',
        accountId: 100,
        accountName: 'Administrator',
        source: 'local',
        kind: 'password',
        workgroup: 'CORP',
        password: PASSWORD,
        maximumReleaseMinutes: 120,
      },
      {
        systemId: 10,
        systemName: 'web01',
        accountId: 101,
        accountName: 'svc-web',
        domainName: 'CORP',
        source: 'domain-linked',
        kind: 'password',
        workgroup: 'CORP',
        password: PASSWORD,
        ips: ['10.0.4.17'],
      },
      {
        systemId: 11,
        systemName: 'web01-legacy',
        accountId: 110,
        accountName: 'root',
        source: 'local',
        kind: 'ssh-key',
        workgroup: 'CORP',
        privateKey: SSH_KEY,
        passphrase: 'pp-secret-phrase',
      },
      {
        systemId: 12,
        systemName: 'web01',
        accountId: 120,
        accountName: 'dmz-admin',
        source: 'local',
        kind: 'password',
        workgroup: 'DMZ',
        password: PASSWORD,
      },
      {
        systemId: 20,
        systemName: 'db01',
        accountId: 200,
        accountName: 'sa',
        source: 'local',
        kind: 'password',
        workgroup: 'CORP',
        password: PASSWORD,
        maximumReleaseMinutes: 10,
      },
    )
    .grant('mallory@corp.example.com', {
      systemId: 10,
      systemName: 'web01',
      accountId: 100,
      accountName: 'Administrator',
      source: 'local',
      kind: 'password',
      workgroup: 'CORP',
      password: PASSWORD,
    });
}

/**
 * The broker as the ECM channel reaches it: every request goes through the wire mapper (the one
 * validation edge), so tests speak the protocol's shapes and see what a console would see.
 */
export function wireBroker(broker: Broker, site = 'default') {
  const wire = brokerHandler(() => broker, site);
  return {
    domain: broker,
    handle: wire.handle.bind(wire),
    undelivered: wire.undelivered!.bind(wire),
    explain: broker.explain.bind(broker),
    start: () => broker.start(),
    stop: (graceMs: number, reason?: 'reload' | 'shutdown') => broker.stop(graceMs, reason),
  };
}
