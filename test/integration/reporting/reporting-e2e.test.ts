import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCursorKey, type ReportWorker } from '../../../src/reporting/report-worker.js';
import { buildReportWorker, reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import type { SessionRecord } from '../../../src/reporting/session-record.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import {
  ReportingSimulator,
  type ReportRequest,
} from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { openStore } from '../../../src/app/open-store.js';
import type { Store } from '../../../src/store/store-ports.js';
import { REPORTING_ACCOUNT, writeCa } from '../appliance/harness.js';
import { capturedLogger, T0 } from './reporting-fixture.js';

/**
 * End to end: appliance simulator (HTTPS, OAuth, perm_reporting) → report client → worker →
 * PGlite (the BGSessions schema), compared with what the generator says it served.
 */
describe('reporting end to end: simulator → worker → PGlite', () => {
  const clock = new ManualClock(T0 + 2000 * 60_000 + 20 * 60_000);
  const generator = new SessionGenerator({
    seed: 2026,
    count: 2000,
    hostName: '127.0.0.1',
    product: 'pra',
    firstStartMs: T0,
    spacingMs: 60_000,
  });
  let fault: ((r: ReportRequest) => void) | undefined;
  const reporting = new ReportingSimulator({ generator, now: () => clock.now(), fault: (r) => void fault?.(r) });
  const bearers = new Set<string>();
  const appliance = new ApplianceSimulator({
    accounts: [REPORTING_ACCOUNT],
    now: () => clock.now(),
    reporting: (req, res, body) => {
      bearers.add(String(req.headers.authorization).replace(/^Bearer /, ''));
      return reporting.handle(req, res, body);
    },
  });
  const { log, lines } = capturedLogger('info');
  let caFile = '';

  beforeAll(async () => {
    await appliance.start();
    caFile = writeCa(appliance.caPem);
  });
  afterAll(() => appliance.stop());

  let store: Store;
  beforeAll(async () => {
    store = await openStore(
      { kind: 'embedded', dataDir: 'memory://' },
      { log, metrics: createMetricsRegistry({ defaultMetrics: false }) },
    );
    await store.migrate();
  });
  afterAll(() => store.close());

  /**
   * One PGlite database for both tests (opening one is slow): each test is its own site (own
   * cursor) reaching the simulator under its own hostname, and host_name (with lsid) keys every
   * session, so their rows never mix.
   */
  function config(host: string, lookbackHours: number) {
    return parseConfigText(
      [
        'sites:',
        `  - name: site-${host}`,
        `    url: https://${host}:${appliance.port}`,
        `    caFile: ${caFile}`,
        '    reporting: { clientId: rep-client, clientSecret: env:REPORTING_SECRET }',
        `reporting: { initialLookbackHours: ${lookbackHours}, overlapMinutes: 15, sliceMinutes: 240, batchSize: 100 }`,
      ].join('\n'),
      'e2e.yaml',
      { env: { REPORTING_SECRET: REPORTING_ACCOUNT.clientSecret } },
    );
  }

  function newWorker(host: string, lookbackHours: number): ReportWorker {
    const rt = { log, metrics: createMetricsRegistry({ defaultMetrics: false }), readiness: new Readiness(), clock };
    return buildReportWorker(reportWorkerSettings(config(host, lookbackHours)), { ...rt, instanceId: 'e2e' }, store);
  }

  /** Every BGSessions table grew by exactly the generator's rows (mapped by the reference store); spot-checked values. */
  async function expectExactly(
    host: string,
    sinceMs: number,
    before: Record<string, number>,
    spot: (r: SessionRecord, k: number) => boolean,
  ) {
    const reference = new MemoryStore();
    // A pull from `sinceMs` covers sessions that ended or started since then.
    const pulled = (r: SessionRecord) =>
      r.startTime.getTime() >= sinceMs || (r.endTime !== null && r.endTime.getTime() >= sinceMs);
    const records = [...generator.records(clock.now())].filter(pulled).map((r) => ({ ...r, hostName: host }));
    await reference.reports.writeSessions(records);
    const after = await store.reports.tableCounts();
    const grown = Object.fromEntries(Object.entries(after).map(([t, n]) => [t, n - (before[t] ?? 0)]));
    expect(grown).toEqual(await reference.reports.tableCounts());
    for (const [k, r] of records.entries())
      if (spot(r, k)) expect(await store.reports.readSession(r.hostName, r.lsid)).toEqual(r);
    return records;
  }

  it('stores 2,000 sessions exactly: counts per table, values, decoded bodies; no secret in the log', async () => {
    const host = '127.0.0.1';
    const w = newWorker(host, 72);
    expect(await w.runNow()).toEqual({ [`site-${host}`]: 'ok' });
    const records = await expectExactly(
      host,
      0,
      {},
      (r, k) =>
        k % 40 === 0 ||
        (k % 4 === 0 && r.endTime === null) ||
        (k % 3 === 0 && r.events.some((e) => e.body?.includes('\u0007'))),
    );
    expect(records).toHaveLength(2000);
    expect(records.filter((r) => r.endTime === null).length).toBeGreaterThan(0);
    expect(reporting.stats.withoutConnectionClose).toBe(0);
    const decoded = records.find((r) => r.events.some((e) => e.body?.includes('\u001b[31m')))!;
    expect((await store.reports.readSession(decoded.hostName, decoded.lsid))!.events.map((e) => e.body)).toContain(
      'bell\u0007 and escape \u001b[31mred\u001b[0m',
    );
    const text = lines.join('');
    expect(text).not.toContain(REPORTING_ACCOUNT.clientSecret as string);
    expect(bearers.size).toBe(1);
    for (const t of bearers) expect(text).not.toContain(t);
  });

  it('killed mid-run and restarted: no duplicates, no gaps; then in-progress sessions close: updated, not duplicated', async () => {
    // A 12-hour first window (about 800 sessions) keeps this test short; the 2,000 are above.
    const host = 'localhost';
    const since = Math.floor((clock.now() - 12 * 3_600_000) / 1000) * 1000;
    const before = await store.reports.tableCounts();
    let calls = 0;
    let w1: ReportWorker | undefined;
    let stopping: Promise<void> | undefined;
    fault = (r) => {
      if (r.report === 'AccessSession' && ++calls === 4) stopping = w1!.stop(5000);
    };
    w1 = newWorker(host, 12);
    await w1.start();
    expect(await w1.runNow()).toEqual({ [`site-${host}`]: 'stopped' });
    await stopping;
    fault = undefined;
    const partial = (await store.reports.tableCounts()).session! - before.session!;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(700);
    const w2 = newWorker(host, 12);
    expect(await w2.runNow()).toEqual({ [`site-${host}`]: 'ok' });
    await expectExactly(host, since, before, (_r, k) => k % 50 === 0);

    const openBefore = [...generator.records(clock.now())].filter(
      (r) => r.endTime === null && r.startTime.getTime() >= since,
    );
    expect(openBefore.length).toBeGreaterThan(0);
    await clock.advance(4 * 3_600_000);
    expect(await w2.runNow()).toEqual({ [`site-${host}`]: 'ok' });
    const closed = new Set(openBefore.map((o) => o.lsid));
    await expectExactly(host, since, before, (r) => closed.has(r.lsid));
    for (const o of openBefore) expect((await store.reports.readSession(host, o.lsid))!.endTime).not.toBeNull();
    expect(Date.parse((await store.state.getCursor(reportCursorKey(config(host, 12).sites[0]!)))!)).toBe(
      Math.floor(clock.now() / 1000) * 1000,
    );
  });
});
