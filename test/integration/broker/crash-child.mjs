/**
 * Child process of lease-crash-recovery.test.ts: opens the file-backed PGlite store, checks one
 * credential out of the Password Safe simulator through a real broker and vault adapter, prints
 * the lease, and idles until it is killed with SIGKILL (no shutdown hook runs, so the lease and
 * the vault request stay open).
 *   node crash-child.mjs DATA_DIR CONFIG_FILE [after-post]   (secrets in PS_API_KEY, CREDENTIAL_ID_KEY)
 * With `after-post`, the child prints the intent's lease id as soon as Password Safe answered
 * `POST Requests` and the secret was read, and never records the answer (the window of issue 11,
 * 5b), so the kill lands between the vault request and the lease knowing it.
 * Plain JavaScript on the built dist/ (as the installed service runs): no TypeScript loader in the
 * child, so it starts in about a second instead of transpiling the source tree first.
 */
import { brokerHandler } from '../../../dist/appliance/broker-mapper.js';
import { brokerSettings } from '../../../dist/app/units/broker-unit.js';
import { loadConfigFile } from '../../../dist/app/config-schema.js';
import { openStore } from '../../../dist/app/open-store.js';
import { createVault } from '../../../dist/app/units/vault-unit.js';
import { createBroker } from '../../../dist/broker/create-broker.js';
import { systemClock } from '../../../dist/platform/clock.js';
import { silentLogger } from '../../../dist/platform/logger.js';
import { createMetricsRegistry } from '../../../dist/platform/metrics.js';

const [dataDir, configFile, mode] = process.argv.slice(2);
if (!dataDir || !configFile) throw new Error('usage: crash-child.mjs DATA_DIR CONFIG_FILE');
const config = loadConfigFile(configFile, { env: process.env });
const log = silentLogger();
const metrics = createMetricsRegistry({ defaultMetrics: false });
const store = await openStore({ kind: 'embedded', dataDir }, { log, metrics });
await store.migrate();
const vault = createVault(config.vault, { log, metrics, clock: systemClock });
const instanceId = `child-${process.pid}`;
const broker = createBroker(brokerSettings(config), {
  vault,
  state: store.state,
  log,
  metrics,
  clock: systemClock,
  instanceId,
});
await broker.start();
if (mode === 'after-post') {
  store.state.confirmLease = async (leaseId) => {
    const lease = await store.state.getLease(leaseId);
    process.stdout.write(JSON.stringify({ instanceId, leaseId, vaultRequestId: lease?.vaultRequestId }) + '\n');
    return new Promise(() => undefined); // killed before the answer is recorded
  };
}
// Requests go through the wire mapper, as the ECM channel delivers them.
const wire = brokerHandler(() => broker, 'default');
const signal = new AbortController().signal;
const context = {
  user: { username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com' },
  jumpItem: { id: 9001, name: 'web01 RDP' },
  session: { lsid: 'crash-session', externalKey: 'CHG-1' },
};
const [offered] = (await wire.handle('credentials.list', context, {}, signal)).credentials;
if (!offered) throw new Error('nothing offered');
const { credential } = await wire.handle('credentials.get', context, { credentialId: offered.id }, signal);
const lease = await store.state.getLease(credential.leaseId);
process.stdout.write(
  JSON.stringify({ instanceId, leaseId: credential.leaseId, vaultRequestId: lease?.vaultRequestId }) + '\n',
);
// Idle until SIGKILL.
setInterval(() => undefined, 60_000);
