import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerSettings } from '../../../src/app/units/broker-unit.js';
import { createBroker } from '../../../src/broker/create-broker.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { openStore } from '../../../src/app/open-store.js';
import { createVault } from '../../../src/app/units/vault-unit.js';
import { assertBuildFresh } from '../../helpers/cli.js';
import { startPsForBroker } from './ps-broker-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-broker-crash-'));
const dataDir = join(dir, 'pglite');
let ps: Awaited<ReturnType<typeof startPsForBroker>>;
beforeAll(async () => {
  ps = await startPsForBroker();
});
afterAll(async () => {
  await ps?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs crash-child.mjs, waits for its lease line, then kills it with SIGKILL. */
async function checkOutAndCrash(
  mode: 'after-lease' | 'after-post' = 'after-lease',
): Promise<{ instanceId: string; leaseId: string; vaultRequestId: string | null }> {
  // Plain `node` on the built code: one process, so SIGKILL hits the broker itself and not a
  // wrapper whose child would live on.
  assertBuildFresh();
  const child = spawn(process.execPath, [join(import.meta.dirname, 'crash-child.mjs'), dataDir, ps.configFile, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...ps.env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before checking out: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return JSON.parse(line) as { instanceId: string; leaseId: string; vaultRequestId: string | null };
}

describe('lease recovery after kill -9 (real child process, file-backed PGlite, Password Safe simulator)', () => {
  it('a lease survives the crash and the next start checks it in at the vault', async () => {
    const crashed = await checkOutAndCrash();
    const request = ps.sim.requests().find((r) => String(r.id) === crashed.vaultRequestId);
    expect(request?.status).toBe('approved'); // still released to the dead process

    const log = silentLogger();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    // Opening takes over the data-directory lock the dead child left behind.
    const store = await openStore({ kind: 'embedded', dataDir, lockWaitMs: 5_000 }, { log, metrics });
    const config = loadConfigFile(ps.configFile, { env: ps.env });
    const vault = createVault(config.vault!, { log, metrics, clock: new ManualClock() });
    try {
      await store.migrate();
      expect(await store.state.getLease(crashed.leaseId)).toMatchObject({
        owner: crashed.instanceId,
        vaultRequestId: crashed.vaultRequestId,
        lsid: 'crash-session',
        consoleUser: 'CORP\\jdoe',
        vaultUser: 'jdoe@corp.example.com',
      });

      // The next start happens after the dead instance's heartbeat went stale (clock injected).
      const clock = new ManualClock(Date.now() + 5 * 60_000);
      const broker = createBroker(brokerSettings(config)!, {
        vault,
        state: store.state,
        log,
        metrics,
        clock,
        instanceId: 'successor',
      });
      await broker.start();
      expect(request?.status).toBe('released');
      expect(await store.state.getLease(crashed.leaseId)).toBeUndefined();
      const [event] = await store.state.listCredentialEvents({ lsid: 'crash-session' });
      expect(event).toMatchObject({
        outcome: 'checked_in',
        vaultRequestId: crashed.vaultRequestId,
        jumpItemId: 9001,
        checkinAt: new Date(clock.now()),
        checkinBy: 'successor',
        checkinReason: 'recovery',
      });
      await broker.stop(1_000);
    } finally {
      await vault.close();
      await store.close();
    }
  });

  it('kill -9 after POST Requests, before the lease knows the request (issue 11, 5b): the intent is found and checked in', async () => {
    const before = new Set(ps.sim.requests().map((r) => r.id));
    const crashed = await checkOutAndCrash('after-post');
    expect(crashed.vaultRequestId).toBeNull(); // the lease is only the intent recorded before the POST
    const request = ps.sim.requests().find((r) => !before.has(r.id));
    expect(request?.status).toBe('approved');

    const log = silentLogger();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const store = await openStore({ kind: 'embedded', dataDir, lockWaitMs: 5_000 }, { log, metrics });
    const config = loadConfigFile(ps.configFile, { env: ps.env });
    const vault = createVault(config.vault!, { log, metrics, clock: new ManualClock() });
    try {
      await store.migrate();
      const [intent] = await store.state.listCredentialEvents({ lsid: 'crash-session', limit: 1 });
      expect(intent).toMatchObject({ outcome: 'requested', vaultRequestId: null });
      const clock = new ManualClock(Date.now() + 5 * 60_000);
      const broker = createBroker(brokerSettings(config)!, {
        vault,
        state: store.state,
        log,
        metrics,
        clock,
        instanceId: 'successor',
      });
      await broker.start();
      expect(request?.status).toBe('released');
      expect(await store.state.getLease(crashed.leaseId)).toBeUndefined();
      const [event] = await store.state.listCredentialEvents({ lsid: 'crash-session', limit: 1 });
      expect(event).toMatchObject({
        id: intent!.id,
        outcome: 'failed',
        vaultRequestId: String(request!.id),
        checkinBy: 'successor',
        checkinReason: 'recovery',
      });
      await broker.stop(1_000);
    } finally {
      await vault.close();
      await store.close();
    }
  });
});
