import { Writable } from 'node:stream';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
import { brokerSettings } from '../../src/app/units/broker-unit.js';
import type { Broker } from '../../src/broker/broker.js';
import { createBroker } from '../../src/broker/create-broker.js';
import { systemClock } from '../../src/platform/clock.js';
import { loadConfigFile } from '../../src/app/config-schema.js';
import { createLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { ApplianceSimulator } from '../../src/simulators/appliance/appliance-simulator.js';
import { ConsoleDriver } from '../../src/simulators/appliance/console-driver.js';
import type { ConsoleRequestBody } from '../../src/simulators/appliance/sim-console-routes.js';
import { MemoryStateStore } from '../../src/store/memory/store.js';
import type { StateStore } from '../../src/store/store-ports.js';
import { createVault } from '../../src/app/units/vault-unit.js';
import { wireBroker } from '../unit/broker/broker-fixture.js';
import { ECM_ACCOUNT, startLink, until, writeCa, type StartedLink } from '../integration/appliance/harness.js';
import { startPsForBroker } from '../integration/broker/ps-broker-harness.js';
import { CONSOLE_DEADLINE_MS } from '../helpers/deadlines.js';

/**
 * The whole path a console request takes, over real sockets: the appliance simulator's console
 * driver (HTTPS) -> ECM channel (WSS) -> site link -> broker -> Password Safe adapter (HTTPS) ->
 * Password Safe simulator. Only the state store is in memory unless one is given.
 */
export interface BridgeStack {
  appliance: ApplianceSimulator;
  ps: Awaited<ReturnType<typeof startPsForBroker>>;
  broker: Broker;
  state: StateStore;
  started: StartedLink;
  console: ConsoleDriver;
  /** Everything the broker and the vault adapter logged. */
  lines: string[];
  /** A console request as CORP\jdoe on web01 (Jump Group "Servers"), with `over` merged in. */
  send(over?: Partial<ConsoleRequestBody>): ReturnType<ConsoleDriver['send']>;
  close(): Promise<void>;
}

export const JDOE_CONTEXT: Required<Pick<RequestContext, 'user' | 'endpoint' | 'jumpItem' | 'session'>> = {
  user: { id: 42, username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 9001, name: 'web01 RDP', type: 'rdp', networkId: 'CORP', jumpGroup: { id: 7, name: 'Servers' } },
  session: { lsid: 'sec-lsid-1', externalKey: 'CHG-1' },
};

/**
 * `shared.ps` makes this stack a second replica of another: its own appliance and broker (named
 * `shared.instanceId`), the other's Password Safe simulator (left running at close).
 */
export async function startBridgeStack(
  state: StateStore = new MemoryStateStore(),
  shared: { instanceId?: string; ps?: BridgeStack['ps'] } = {},
): Promise<BridgeStack> {
  const ps = shared.ps ?? (await startPsForBroker());
  const appliance = new ApplianceSimulator({
    accounts: [ECM_ACCOUNT],
    heartbeatMs: 1000,
    maxRequestMs: CONSOLE_DEADLINE_MS,
  });
  await appliance.start();
  const lines: string[] = [];
  const log = createLogger(
    { level: 'debug' },
    new Writable({
      write(c, _e, done) {
        lines.push(String(c));
        done();
      },
    }),
  );
  const config = loadConfigFile(ps.configFile, { env: ps.env });
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const vault = createVault(config.vault!, { log, metrics, clock: systemClock });
  const broker = createBroker(brokerSettings(config)!, {
    vault,
    state,
    log,
    metrics,
    clock: systemClock,
    instanceId: shared.instanceId ?? 'sec',
  });
  await broker.start();
  const started = await startLink(appliance.url, writeCa(appliance.caPem), wireBroker(broker));
  await until(() => started.link.status().state === 'connected', 'channel connected');
  const driver = new ConsoleDriver(appliance.url, appliance.caPem);
  return {
    appliance,
    ps,
    broker,
    state,
    started,
    console: driver,
    lines,
    send: (over = {}) =>
      driver.send({ op: 'credentials.list', ...JDOE_CONTEXT, params: {}, deadlineMs: CONSOLE_DEADLINE_MS, ...over }),
    async close() {
      await started.link.stop(500);
      await broker.stop(1000);
      await vault.close();
      await driver.close();
      await appliance.stop();
      if (!shared.ps) await ps.close();
    },
  };
}
