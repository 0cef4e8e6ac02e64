import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../../src/platform/clock.js';
import { vaultSchema, type VaultConfig } from '../../../src/vault/vault-config.js';
import { withSecretEnv } from '../../../src/platform/config/secret-ref.js';
import { createHttpAgent } from '../../../src/platform/http-agent.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry, type Registry } from '../../../src/platform/metrics.js';
import { demoSeedPath } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../../src/simulators/passwordsafe/password-safe-simulator.js';
import { loadSeedFile, type Seed } from '../../../src/simulators/passwordsafe/seed.js';
import { PasswordSafeVault } from '../../../src/vault/passwordsafe/password-safe-vault.js';

export const DEMO_KEY = 'demo-ps-api-key-0123456789';
export const JDOE = 'jdoe@corp.example.com';
export const ASMITH = 'asmith@corp.example.com';
export const WEB01 = { names: ['web01', 'web01.corp.example.com'], ips: ['10.0.4.17'] };

/** A clock whose sleeps return at once but are recorded (and move time), so backoff is visible. */
export class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  #now = Date.UTC(2026, 10, 22, 12);
  now(): number {
    return this.#now;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += ms;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Every log line the adapter writes, at trace level, as text. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(chunk.toString('utf8'));
    done();
  }
  get text(): string {
    return this.lines.join('');
  }
}

export interface Harness {
  sim: PasswordSafeSimulator;
  caFile: string;
  clock: RecordingClock;
  logs: LogCapture;
  metrics: Registry;
  vault(overrides?: Record<string, unknown>): PasswordSafeVault;
  config(overrides?: Record<string, unknown>): VaultConfig;
  close(): Promise<void>;
}

/** Starts the simulator (HTTPS, demo seed unless given) and builds adapters against it. */
export async function startHarness(seed: Seed = loadSeedFile(demoSeedPath)): Promise<Harness> {
  const sim = await PasswordSafeSimulator.start({ seed });
  const dir = mkdtempSync(join(tmpdir(), 'ps-sim-'));
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, sim.caPem);
  const clock = new RecordingClock();
  const logs = new LogCapture();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const log = createLogger({ level: 'trace' }, logs);
  const made: PasswordSafeVault[] = [];
  // One agent (built from caFile like production) shared by the adapters of a file: a TLS
  // connection with an extra CA is costly to set up, and tests need not pay it per adapter.
  const shared: Dispatcher = createHttpAgent({ connectTimeoutMs: 5000, requestTimeoutMs: 15_000, caFile });
  const config = (overrides: Record<string, unknown> = {}): VaultConfig =>
    withSecretEnv({ env: { PS_KEY: DEMO_KEY }, allowLiterals: true, readFile: () => '', baseDir: dir }, () =>
      vaultSchema.parse({
        kind: 'passwordsafe',
        url: sim.url,
        caFile,
        auth: { method: 'apikey', apiKey: 'env:PS_KEY' },
        retries: { max: 3, baseDelayMs: 100, maxDelayMs: 5000 },
        ...overrides,
      }),
    );
  return {
    sim,
    caFile,
    clock,
    logs,
    metrics,
    config,
    vault(overrides = {}) {
      // Overrides of the transport (CA, timeouts, pool size) need the adapter's own agent.
      const own = ['caFile', 'timeouts', 'proxy', 'connections'].some((k) => k in overrides);
      const v = new PasswordSafeVault(config(overrides), {
        log,
        metrics,
        clock,
        random: () => 0.5,
        ...(own ? {} : { dispatcher: shared }),
      });
      made.push(v);
      return v;
    },
    async close() {
      for (const v of made) await v.close();
      await shared.close();
      await sim.stop();
    },
  };
}
