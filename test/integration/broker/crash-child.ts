/**
 * Child process of lease-crash-recovery.test.ts: opens the file-backed PGlite store, checks one
 * credential out through a real broker, prints the lease, and then idles until it is killed with
 * SIGKILL (no shutdown hook runs, so the lease stays open). Run: node --import tsx crash-child.ts DATA_DIR
 */
import { createBroker } from '../../../src/broker/create-broker.js';
import { systemClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { openStore } from '../../../src/store/open-store.js';
import { FakeVault } from '../../../src/vault/fake-vault.js';
import { brokerConfig, ctx, PASSWORD } from '../../unit/broker/broker-fixture.js';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: crash-child.ts DATA_DIR');
const log = silentLogger();
const metrics = createMetricsRegistry({ defaultMetrics: false });
const store = await openStore({ kind: 'embedded', dataDir }, { log, metrics });
await store.migrate();
const vault = new FakeVault().grant('jdoe@corp.example.com',
  { systemId: 10, systemName: 'web01', accountId: 100, accountName: 'Administrator', source: 'local', kind: 'password', workgroup: 'CORP', password: PASSWORD });
const instanceId = `child-${process.pid}`;
const broker = createBroker(brokerConfig(), { vault, state: store.state, log, metrics, clock: systemClock, instanceId });
await broker.start();
const signal = new AbortController().signal;
const c = ctx({ session: { lsid: 'crash-session', externalKey: 'CHG-1' } });
const [offered] = (await broker.handle('credentials.list', c, {}, signal)).credentials;
if (!offered) throw new Error('nothing offered');
const { credential } = await broker.handle('credentials.get', c, { credentialId: offered.id }, signal);
const lease = await store.state.getLease(credential.leaseId);
process.stdout.write(JSON.stringify({ instanceId, leaseId: credential.leaseId, vaultRequestId: lease?.vaultRequestId }) + '\n');
// Idle until SIGKILL.
setInterval(() => undefined, 60_000);
