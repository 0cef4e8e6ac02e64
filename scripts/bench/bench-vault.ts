import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock, type Clock } from '../../src/platform/clock.js';
import { withSecretEnv } from '../../src/platform/config/secret-ref.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry, type Registry } from '../../src/platform/metrics.js';
import { BENCH_API_KEY } from '../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeVault } from '../../src/vault/passwordsafe/password-safe-vault.js';
import { vaultSchema } from '../../src/vault/vault-config.js';

export interface BenchVaultSimulator {
  url: string;
  caFile: string;
  /** Sends one stdin command to the simulator (ps-sim-child.ts lists them) and resolves with its reply. */
  command(cmd: string): Promise<string>;
  stop(): void;
}

/**
 * The Password Safe simulator in its own process (its CPU is not the bridge's), over a generated
 * estate of `systems` systems and `accounts` accounts, answering after `latencyMs`.
 */
export async function startBenchVaultSimulator(
  systems: number,
  accounts: number,
  latencyMs: number,
): Promise<BenchVaultSimulator> {
  const caFile = join(mkdtempSync(join(tmpdir(), 'ps-bench-')), 'ca.pem');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench/ps-sim-child.ts', String(systems), String(accounts), String(latencyMs), caFile],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdout.setEncoding('utf8');
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^listening: (\S+)/.exec(line);
      if (m) resolve(m[1]!);
      if (line.startsWith('reply: ')) waiting.shift()?.(line.slice(7));
    });
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}`)));
  });
  const command = (cmd: string) =>
    new Promise<string>((resolve) => {
      waiting.push(resolve);
      child.stdin.write(`${cmd}\n`);
    });
  return { url, caFile, command, stop: () => child.kill('SIGTERM') };
}

/** The bridge's vault adapter for the bench simulator: API key auth, a discovery cache of an hour. */
export function benchVault(
  sim: Pick<BenchVaultSimulator, 'url' | 'caFile'>,
  requestMs?: number,
  overrides: Record<string, unknown> = {},
  clock: Clock = systemClock,
  metrics: Registry = createMetricsRegistry({ defaultMetrics: false }),
): PasswordSafeVault {
  const config = withSecretEnv(
    { env: { K: BENCH_API_KEY }, allowLiterals: false, readFile: () => '', baseDir: '.' },
    () =>
      vaultSchema.parse({
        kind: 'passwordsafe',
        url: sim.url,
        caFile: sim.caFile,
        auth: { method: 'apikey', apiKey: 'env:K' },
        cache: { discoveryTtlSeconds: 3600 },
        ...(requestMs ? { timeouts: { connectMs: 5000, requestMs } } : {}),
        ...overrides,
      }),
  );
  return new PasswordSafeVault(config, {
    log: silentLogger(),
    metrics,
    clock,
  });
}
