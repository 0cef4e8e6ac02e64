/**
 * Child process of lease-crash-recovery.test.ts: opens the file-backed PGlite store, checks one
 * credential out of the Password Safe simulator through a real broker and vault adapter, prints
 * the lease, and idles until it is killed with SIGKILL (no shutdown hook runs, so the lease and
 * the vault request stay open).
 *   node --import tsx crash-child.ts DATA_DIR CONFIG_FILE   (secrets in PS_API_KEY, CREDENTIAL_ID_KEY)
 */
import { brokerSettings } from '../../../src/app/broker-unit.js';
import { createBroker } from '../../../src/broker/create-broker.js';
import { wireBroker } from '../../unit/broker/broker-fixture.js';
import { systemClock } from '../../../src/platform/clock.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { openStore } from '../../../src/app/open-store.js';
import { createVault } from '../../../src/app/vault-unit.js';

const [dataDir, configFile] = process.argv.slice(2);
if (!dataDir || !configFile) throw new Error('usage: crash-child.ts DATA_DIR CONFIG_FILE');
const config = loadConfigFile(configFile, { env: process.env });
const log = silentLogger();
const metrics = createMetricsRegistry({ defaultMetrics: false });
const store = await openStore({ kind: 'embedded', dataDir }, { log, metrics });
await store.migrate();
const vault = createVault(config.vault!, { log, metrics, clock: systemClock });
const instanceId = `child-${process.pid}`;
const broker = wireBroker(
  createBroker(brokerSettings(config)!, { vault, state: store.state, log, metrics, clock: systemClock, instanceId }),
);
await broker.start();
const signal = new AbortController().signal;
const context = {
  user: { username: 'CORP\\jdoe', securityProvider: { id: 3, name: 'Corp AD' } },
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com' },
  jumpItem: { id: 9001, name: 'web01 RDP' },
  session: { lsid: 'crash-session', externalKey: 'CHG-1' },
};
const [offered] = (await broker.handle('credentials.list', context, {}, signal)).credentials;
if (!offered) throw new Error('nothing offered');
const { credential } = await broker.handle('credentials.get', context, { credentialId: offered.id }, signal);
const lease = await store.state.getLease(credential.leaseId);
process.stdout.write(
  JSON.stringify({ instanceId, leaseId: credential.leaseId, vaultRequestId: lease?.vaultRequestId }) + '\n',
);
// Idle until SIGKILL.
setInterval(() => undefined, 60_000);
