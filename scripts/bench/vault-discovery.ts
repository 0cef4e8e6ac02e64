/**
 * Benchmark: Password Safe discovery through the adapter against a simulated large estate
 * (100,000 systems, 300,000 accounts by default), with and without the per-user discovery cache.
 *
 *   npx tsx scripts/bench/vault-discovery.ts [--systems N] [--accounts N] [--seconds S]
 *
 * The simulator runs in a child process (`ecm-bridge sim passwordsafe --generate`) over HTTPS,
 * so the adapter and the vault do not share one event loop. Prints a table with ratios against
 * the uncached baseline measured in the same run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/platform/clock.js';
import { vaultSchema } from '../../src/vault/vault-config.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { BENCH_API_KEY } from '../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeVault } from '../../src/vault/passwordsafe/password-safe-vault.js';

const { values } = parseArgs({
  options: {
    systems: { type: 'string', default: '100000' },
    accounts: { type: 'string', default: '300000' },
    seconds: { type: 'string', default: '5' },
  },
});
const systems = Number(values.systems);
const accounts = Number(values.accounts);
const seconds = Number(values.seconds);
const WORKGROUPS = 20;
const USER = 'u1-1@corp.example.com'; // granted workgroup WG01: systems whose number is a multiple of 20

async function startSimulator(): Promise<{ url: string; caFile: string; stop: () => void; startMs: number }> {
  const caFile = join(mkdtempSync(join(tmpdir(), 'ps-bench-')), 'ca.pem');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/main.ts',
      'sim',
      'passwordsafe',
      '--generate',
      `${systems},${accounts}`,
      '--port',
      '0',
      '--ca-out',
      caFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.stdout.setEncoding('utf8');
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /listening: (\S+)[\s\S]*Ctrl-C/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}: ${out}`)));
  });
  return { url, caFile, stop: () => child.kill('SIGTERM'), startMs: performance.now() - t0 };
}

function vault(url: string, caFile: string, ttlSeconds: number): PasswordSafeVault {
  const config = withSecretEnv(
    { env: { K: BENCH_API_KEY }, allowLiterals: false, readFile: () => '', baseDir: '.' },
    () =>
      vaultSchema.parse({
        kind: 'passwordsafe',
        url,
        caFile,
        auth: { method: 'apikey', apiKey: 'env:K' },
        cache: { discoveryTtlSeconds: ttlSeconds },
        timeouts: { connectMs: 5000, requestMs: 120_000 },
      }),
  );
  return new PasswordSafeVault(config, {
    log: silentLogger(),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    clock: systemClock,
  });
}

/** A target of the user's workgroup: short name, FQDN and IP, like the broker builds them. */
function target(k: number) {
  const i = ((k % Math.floor(systems / WORKGROUPS)) + 1) * WORKGROUPS;
  const name = `srv${String(i).padStart(6, '0')}`;
  return { names: [name, `${name}.corp.example.com`], ips: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`] };
}

interface Row {
  name: string;
  ops: number;
  perSec: number;
  p50: number;
  p95: number;
}

/** Runs `op` with `concurrency` workers for `seconds` (at least `minOps` operations). */
async function measure(
  name: string,
  concurrency: number,
  minOps: number,
  op: (k: number) => Promise<unknown>,
): Promise<Row> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline || next < minOps) {
        const k = next++;
        const t = performance.now();
        await op(k);
        lat.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
  return { name, ops: lat.length, perSec: lat.length / elapsed, p50: q(0.5), p95: q(0.95) };
}

const sim = await startSimulator();
try {
  const cold = vault(sim.url, sim.caFile, 0);
  const warm = vault(sim.url, sim.caFile, 300);
  await cold.listAccounts(USER, target(0)); // sign-in and TLS set-up outside the measurements
  await warm.listAccounts(USER, target(0));
  const rows: [Row, Row | undefined][] = [];
  const listBase = await measure('listAccounts, no cache, distinct targets, 1 worker', 1, 20, (k) =>
    cold.listAccounts(USER, target(k)),
  );
  rows.push([listBase, undefined]);
  rows.push([
    await measure('listAccounts, no cache, distinct targets, 8 workers', 8, 20, (k) =>
      cold.listAccounts(USER, target(k)),
    ),
    listBase,
  ]);
  for (let k = 0; k < 50; k++) await warm.listAccounts(USER, target(k));
  rows.push([
    await measure('listAccounts, cache (TTL 300 s), 50 hot targets, 1 worker', 1, 20, (k) =>
      warm.listAccounts(USER, target(k % 50)),
    ),
    listBase,
  ]);
  const searchBase = await measure('searchSystems, no cache (pages whole catalogue)', 1, 2, (k) =>
    cold.searchSystems(USER, `srv${String(k % 10)}`, 20),
  );
  rows.push([searchBase, undefined]);
  await warm.searchSystems(USER, 'srv', 20);
  rows.push([
    await measure('searchSystems, cache (TTL 300 s)', 1, 20, (k) =>
      warm.searchSystems(USER, `srv${String(k % 10)}`, 20),
    ),
    searchBase,
  ]);
  await cold.close();
  await warm.close();

  const cpu = (await import('node:os')).cpus();
  console.log(
    `vault discovery benchmark: ${systems} systems, ${accounts} accounts, user ${USER} (${accounts / WORKGROUPS} accounts granted)`,
  );
  console.log(
    `machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}; simulator start incl. estate generation ${(sim.startMs / 1000).toFixed(1)} s`,
  );
  console.log('');
  console.log('| case | ops | ops/s | p50 ms | p95 ms | ops/s vs baseline |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const [r, base] of rows) {
    const ratio = base ? `${(r.perSec / base.perSec).toFixed(1)}x` : 'baseline';
    console.log(
      `| ${r.name} | ${r.ops} | ${r.perSec.toFixed(1)} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${ratio} |`,
    );
  }
} finally {
  sim.stop();
}
