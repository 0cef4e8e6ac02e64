import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { createBroker } from '../../../src/broker/create-broker.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { openStore } from '../../../src/store/open-store.js';
import { FakeVault } from '../../../src/vault/fake-vault.js';
import { brokerConfig } from '../../unit/broker/broker-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'ecm-broker-crash-'));
const dataDir = join(dir, 'pglite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs crash-child.ts, waits for its lease line, then kills it with SIGKILL. */
async function checkOutAndCrash(): Promise<{ instanceId: string; leaseId: string; vaultRequestId: string }> {
  // `node --import tsx` rather than `npx tsx`: one process, so SIGKILL hits the broker itself
  // and not a wrapper whose child would live on.
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before checking out: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  return JSON.parse(line) as { instanceId: string; leaseId: string; vaultRequestId: string };
}

describe('lease recovery after kill -9 (file-backed PGlite store, real child process)', () => {
  it('a lease survives the crash and the next start checks it in', async () => {
    const crashed = await checkOutAndCrash();

    const log = silentLogger();
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    // Opening takes over the data-directory lock the dead child left behind.
    const store = await openStore({ kind: 'embedded', dataDir, lockWaitMs: 5_000 }, { log, metrics });
    try {
      await store.migrate();
      const survived = await store.state.getLease(crashed.leaseId);
      expect(survived).toMatchObject({ owner: crashed.instanceId, vaultRequestId: crashed.vaultRequestId, lsid: 'crash-session', consoleUser: 'CORP\\jdoe' });

      // The next start happens after the dead instance's heartbeat went stale (clock injected).
      const clock = new ManualClock(Date.now() + 5 * 60_000);
      const vault = new FakeVault(clock);
      const broker = createBroker(brokerConfig(), { vault, state: store.state, log, metrics, clock, instanceId: 'successor' });
      await broker.start();
      expect(vault.calls).toContainEqual({ method: 'checkin', vaultUser: 'jdoe@corp.example.com', requestId: crashed.vaultRequestId });
      expect(await store.state.getLease(crashed.leaseId)).toBeUndefined();
      const [event] = await store.state.listCredentialEvents({ lsid: 'crash-session' });
      expect(event).toMatchObject({ outcome: 'checked_in', vaultRequestId: crashed.vaultRequestId, checkinAt: new Date(clock.now()) });
      await broker.stop(1_000);
    } finally {
      await store.close();
    }
  });
});
