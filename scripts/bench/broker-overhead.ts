/**
 * Benchmark: what the broker adds on top of the vault per console request: user mapping with
 * growing rule sets, credential id signing/verification, and whole list/get/release cycles over
 * the in-memory vault and store (so only broker work is measured, no network).
 *
 *   npx tsx scripts/bench/broker-overhead.ts [--seconds S]
 *
 * Prints a table with ratios against baselines measured in the same run: mapping with one rule,
 * and the bare vault calls without the broker.
 */
import { benchBroker } from './bench-broker.js';
import { parseArgs } from 'node:util';
import type { RequestContext } from '../../src/protocol/ecm-protocol.js';
import { consoleUserKey, CredentialIdSigner, endpointKey } from '../../src/broker/credential-id.js';
import { UserMapper } from '../../src/broker/user-mapper.js';
import { ManualClock } from '../../src/platform/clock.js';
import { userMappingSchema } from '../../src/broker/broker-config.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Secret } from '../../src/platform/secret.js';
import { MemoryStateStore } from '../../src/store/memory/store.js';
import { FakeVault } from '../../src/vault/fake-vault.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } });
const seconds = Number(values.seconds);

interface Row {
  name: string;
  ops: number;
  perSec: number;
  usPerOp: number;
}

async function measure(name: string, op: (k: number) => unknown): Promise<Row> {
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    // Batches keep the clock reads out of the measured work.
    for (let i = 0; i < 100; i++) await op(ops++);
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name, ops, perSec: ops / elapsed, usPerOp: (elapsed * 1e6) / ops };
}

/** `n` rules that do not match CORP users (regexes on other domains), then the one that does. */
function mapper(n: number): UserMapper {
  const filler = Array.from({ length: n - 1 }, (_, i) => ({
    name: `other-${i}`,
    match: { username: `regex:^DOM${i}\\\\(?<u>.+)$` },
    vaultUser: `{u}@dom${i}.example.com`,
  }));
  return new UserMapper(
    userMappingSchema.parse({
      domains: { CORP: 'corp.example.com' },
      rules: [...filler, { name: 'corp', match: { domain: 'CORP' }, transform: { domain: 'to-upn', case: 'lower' } }],
    }),
  );
}

const user = { username: 'CORP\\JDoe', securityProvider: { id: 3, name: 'Corp AD', kind: 'ldap' } };
const rows: [Row, Row | undefined][] = [];

const mapper1 = mapper(1);
rows.push([await measure('map user, 1 rule', () => mapper1.decide({ user })), undefined]);
const base = rows[0]![0];
for (const n of [20, 100, 500]) {
  const m = mapper(n);
  rows.push([await measure(`map user, ${n} rules (match on the last)`, () => m.decide({ user })), base]);
}

const signer = new CredentialIdSigner(new Secret('k'.repeat(32)), 300_000);
const bind = {
  consoleUser: consoleUserKey(user),
  vaultUser: 'jdoe@corp.example.com',
  endpoint: endpointKey({ names: ['web01', 'web01.corp.example.com'], ips: ['10.0.4.17'] }),
};
const account = {
  systemId: 1,
  systemName: 'web01',
  accountId: 101,
  accountName: 'Administrator',
  kind: 'password' as const,
  source: 'local' as const,
};
const id = signer.issue({ ...bind, account }, 0);
rows.push([await measure('credential id: issue', (k) => signer.issue({ ...bind, account }, k)), base]);
rows.push([await measure('credential id: verify', () => signer.verify(id, bind, 1)), base]);

// Whole requests: broker over the in-memory vault and store versus the bare vault calls.
const clock = new ManualClock(Date.UTC(2026, 0, 7, 10));
const vault = new FakeVault(clock).grant(
  'jdoe@corp.example.com',
  ...Array.from({ length: 5 }, (_, i) => ({
    systemId: 1,
    systemName: 'web01',
    accountId: 100 + i,
    accountName: `acct${i}`,
    source: 'local' as const,
    kind: 'password' as const,
    workgroup: 'CORP',
    password: 'pw',
  })),
);
const broker = benchBroker({
  vault,
  state: new MemoryStateStore(),
  metrics: createMetricsRegistry({ defaultMetrics: false }),
  clock,
});
const signal = new AbortController().signal;
const ctx: RequestContext = {
  user,
  endpoint: { hostname: 'web01', fqdn: 'web01.corp.example.com', ip: '10.0.4.17:3389' },
  jumpItem: { id: 1, name: 'web01', jumpGroup: { name: 'Servers' } },
  session: { lsid: 'l' },
};
const target = { names: ['web01', 'web01.corp.example.com'], ips: ['10.0.4.17'] };
const listBase = await measure('vault.listAccounts alone (no broker)', () =>
  vault.listAccounts('jdoe@corp.example.com', target),
);
rows.push([listBase, undefined]);
rows.push([
  await measure('broker credentials.list (map, match, sign 5 ids)', () =>
    broker.handle('credentials.list', ctx, {}, signal),
  ),
  listBase,
]);
const cycleBase = await measure('vault list + checkout + checkin alone', async () => {
  const [a] = await vault.listAccounts('jdoe@corp.example.com', target);
  const c = await vault.checkout({ vaultUser: 'jdoe@corp.example.com', account: a!, durationMinutes: 30, reason: 'r' });
  await vault.checkin('jdoe@corp.example.com', c.requestId, 'r');
});
rows.push([cycleBase, undefined]);
rows.push([
  await measure('broker list + get + release (lease, audit row)', async () => {
    const [offer] = (await broker.handle('credentials.list', ctx, {}, signal)).credentials;
    const { credential } = await broker.handle('credentials.get', ctx, { credentialId: offer!.id }, signal);
    await broker.handle('credentials.release', ctx, { leaseId: credential.leaseId }, signal);
  }),
  cycleBase,
]);

const cpu = (await import('node:os')).cpus();
console.log('broker overhead benchmark (in-memory vault and store: broker work only)');
console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}, ${seconds} s per case`);
console.log('');
console.log('| case | ops | ops/s | µs/op | ops/s vs baseline |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [r, b] of rows) {
  console.log(
    `| ${r.name} | ${r.ops} | ${r.perSec.toFixed(0)} | ${r.usPerOp.toFixed(1)} | ${b ? `${(r.perSec / b.perSec).toFixed(2)}x` : 'baseline'} |`,
  );
}
