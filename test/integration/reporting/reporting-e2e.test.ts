import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportWorker, reportCursorKey, type ReportWorker } from '../../../src/reporting/create-report-worker.js';
import { reportingTokens } from '../../../src/reporting/reporting-unit.js';
import type { SessionRecord } from '../../../src/reporting/session-record.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/platform/config/loader.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ReportingSimulator, type ReportRequest } from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { MemoryStore } from '../../../src/store/memory-store.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store-ports.js';
import { REPORTING_ACCOUNT, writeCa } from '../appliance/harness.js';
import { capturedLogger, T0 } from './reporting-fixture.js';

/**
 * End to end: appliance simulator (HTTPS, OAuth, perm_reporting) → report client → worker →
 * PGlite (the BGSessions schema), compared with what the generator says it served.
 */
describe('reporting end to end: simulator → worker → PGlite', () => {
  const clock = new ManualClock(T0 + 2000 * 60_000 + 20 * 60_000);
  const generator = new SessionGenerator({ seed: 2026, count: 2000, hostName: '127.0.0.1', product: 'pra', firstStartMs: T0, spacingMs: 60_000 });
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

  function config() {
    return parseConfigText([
      'sites:',
      '  - name: corp-pra',
      `    url: ${appliance.url}`,
      `    caFile: ${caFile}`,
      '    reporting: { clientId: rep-client, clientSecret: env:REPORTING_SECRET }',
      'reporting: { initialLookbackHours: 72, overlapMinutes: 15, sliceMinutes: 240, batchSize: 100 }',
    ].join('\n'), 'e2e.yaml', { env: { REPORTING_SECRET: REPORTING_ACCOUNT.clientSecret } });
  }

  async function newStore(): Promise<Store> {
    const store = await openStore({ kind: 'embedded', dataDir: 'memory://' }, { log, metrics: createMetricsRegistry({ defaultMetrics: false }) });
    await store.migrate();
    return store;
  }

  function newWorker(store: Store): ReportWorker {
    const rt = { log, metrics: createMetricsRegistry({ defaultMetrics: false }), readiness: new Readiness(), clock };
    return createReportWorker(config(), { ...rt, store, tokens: reportingTokens(rt) });
  }

  /** What the BGSessions tables must hold: the generator's sessions mapped by the reference store. */
  async function expectExactly(store: Store, spot: (r: SessionRecord, k: number) => boolean) {
    const reference = new MemoryStore();
    const records = [...generator.records(clock.now())];
    await reference.reports.writeSessions(records);
    expect(await store.reports.tableCounts()).toEqual(await reference.reports.tableCounts());
    for (const [k, r] of records.entries()) if (spot(r, k)) expect(await store.reports.readSession(r.hostName, r.lsid)).toEqual(r);
    return records;
  }

  it('stores 2,000 sessions exactly: counts per table, values, decoded bodies; no secret in the log', async () => {
    const store = await newStore();
    const w = newWorker(store);
    expect(await w.runNow()).toEqual({ 'corp-pra': 'ok' });
    const records = await expectExactly(store, (r, k) => k % 10 === 0 || r.endTime === null || r.events.some((e) => e.body?.includes('\u0007')));
    expect(records).toHaveLength(2000);
    expect(records.filter((r) => r.endTime === null).length).toBeGreaterThan(0);
    expect(reporting.stats.withoutConnectionClose).toBe(0);
    const decoded = records.find((r) => r.events.some((e) => e.body?.includes('\u001b[31m')))!;
    expect((await store.reports.readSession(decoded.hostName, decoded.lsid))!.events.map((e) => e.body)).toContain('bell\u0007 and escape \u001b[31mred\u001b[0m');
    const text = lines.join('');
    expect(text).not.toContain(REPORTING_ACCOUNT.clientSecret as string);
    expect(bearers.size).toBe(1);
    for (const t of bearers) expect(text).not.toContain(t);
    await store.close();
  });

  it('killed mid-run and restarted: no duplicates, no gaps; then in-progress sessions close: updated, not duplicated', async () => {
    const store = await newStore();
    let calls = 0;
    let w1: ReportWorker | undefined;
    let stopping: Promise<void> | undefined;
    fault = (r) => {
      if (r.report === 'AccessSession' && ++calls === 9) stopping = w1!.stop(5000);
    };
    w1 = newWorker(store);
    await w1.start();
    expect(await w1.runNow()).toEqual({ 'corp-pra': 'stopped' });
    await stopping;
    fault = undefined;
    const partial = await store.reports.tableCounts();
    expect(partial.session).toBeGreaterThan(0);
    expect(partial.session).toBeLessThan(2000);
    const w2 = newWorker(store);
    expect(await w2.runNow()).toEqual({ 'corp-pra': 'ok' });
    await expectExactly(store, (_r, k) => k % 25 === 0);

    const openBefore = [...generator.records(clock.now())].filter((r) => r.endTime === null);
    expect(openBefore.length).toBeGreaterThan(0);
    await clock.advance(4 * 3_600_000);
    expect(await w2.runNow()).toEqual({ 'corp-pra': 'ok' });
    await expectExactly(store, (r) => openBefore.some((o) => o.lsid === r.lsid));
    for (const o of openBefore) expect((await store.reports.readSession(o.hostName, o.lsid))!.endTime).not.toBeNull();
    expect(Date.parse((await store.state.getCursor(reportCursorKey(config().sites[0]!)))!)).toBe(Math.floor(clock.now() / 1000) * 1000);
    await store.close();
  });
});
