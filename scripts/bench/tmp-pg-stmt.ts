import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { PgliteStore } from '../../src/store/pglite-store.js';
import { StoreMetrics } from '../../src/store/store-metrics.js';
import { randomUUID } from 'node:crypto';
const store = await PgliteStore.open(
  join(mkdtempSync(join(tmpdir(), 'pgs-')), 'db'),
  5000,
  silentLogger(),
  new StoreMetrics(createMetricsRegistry({ defaultMetrics: false }), 'pglite'),
);
await store.migrate();
const s = store.state;
const ev = {
  site: 's',
  lsid: 'l',
  jumpItemId: 1,
  jumpItemName: 'j',
  consoleUser: 'u',
  vaultUser: 'v',
  vaultRequestId: null,
  systemName: 'sys',
  accountName: 'a',
  outcome: 'requested' as const,
  errorCode: null,
  checkoutAt: null,
  checkinAt: null,
};
const lease = () => ({
  leaseId: randomUUID(),
  vaultRequestId: null,
  owner: 'o',
  site: 's',
  consoleUser: 'u',
  vaultUser: 'v',
  systemId: 1,
  systemName: 'sys',
  accountId: 2,
  accountName: 'a',
  lsid: 'l',
  createdAt: new Date(),
  expiresAt: new Date(Date.now() + 1e6),
});
const N = 200;
const m = async (name: string, f: (i: number) => Promise<unknown>) => {
  const c = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < N; i++) await f(i);
  const u = process.cpuUsage(c);
  console.log(
    name.padEnd(20),
    ((u.user + u.system) / 1000 / N).toFixed(3),
    'ms cpu',
    ((performance.now() - t) / N).toFixed(3),
    'ms wall',
  );
};
for (let round = 0; round < 2; round++) {
  const ids: string[] = [];
  const audits: number[] = [];
  await m('openLease', async () => {
    const l = lease();
    ids.push(l.leaseId);
    audits.push((await s.openLease(ev, l))!);
  });
  await m('confirmLease', async (i) =>
    s.confirmLease(ids[i]!, String(1000 + i), new Date(Date.now() + 1e6), new Date()),
  );
  await m('takeLease', async (i) => s.takeLease(ids[i]!, 'u'));
  await m('updateEvent', async (i) =>
    s.updateCredentialEvent(audits[i]!, {
      outcome: 'checked_in',
      checkinAt: new Date(),
      checkinBy: 'x',
      checkinReason: 'release',
    }),
  );
}
await store.close();
