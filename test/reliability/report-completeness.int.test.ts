import { afterEach, describe, expect, it } from 'vitest';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { reportWorkerSettings } from '../../src/app/units/reporting-unit.js';
import { createReportWorker, reportCursorKey } from '../../src/reporting/report-worker.js';
import type { ReportFault, ReportRequest } from '../../src/simulators/appliance/reporting/reporting-simulator.js';
import { MemoryStore } from '../../src/store/memory/store.js';
import {
  capturedLogger,
  listTokenSources,
  scenario,
  siteConfig,
  type Scenario,
} from '../integration/reporting/reporting-fixture.js';

let open: Scenario[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  open = [];
});

/** 60 sessions (one slice), a worker over HTTPS into a memory store, and its log lines. */
async function pull(fault: (r: ReportRequest, s: Scenario) => ReportFault | undefined) {
  let sc: Scenario | undefined;
  const s = await scenario(60, { fault: (r) => fault(r, sc!) });
  sc = s;
  open.push(s);
  const config = siteConfig(s.url, s.caFile, { sliceMinutes: 24 * 60, batchSize: 25 });
  const store = new MemoryStore();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const { log, lines } = capturedLogger('info');
  const w = createReportWorker(reportWorkerSettings(config), {
    store,
    sources: listTokenSources({ clock: s.clock, log, metrics }),
    log,
    metrics,
    readiness: new Readiness(),
    clock: s.clock,
  });
  await w.start();
  const outcome = await w.runNow();
  await w.stop(1000);
  const cursor = await store.state.getCursor(reportCursorKey(config.sites[0]!));
  const stored = new Set([...store.reports.sessions.values()].map((r) => r.lsid));
  return { s, outcome, cursor, stored, lines, text: await metrics.metrics() };
}

const firstLsid = (r: ReportRequest) => (r.params.get('lsids') ?? '').split(',')[0]!;

describe('a batch commits only when every listed session is accounted for', () => {
  it('a report that keeps leaving out a listed session fails the run and the cursor stays', async () => {
    const { outcome, cursor, stored, lines } = await pull((r) =>
      r.report === 'AccessSession' ? 'omit_first' : undefined,
    );
    expect(outcome).toEqual({ 'corp-pra': 'failed' });
    expect(cursor).toBeUndefined();
    expect(stored.size).toBe(0);
    expect(lines.join('')).toContain('report.incomplete');
    expect(lines.join('')).toMatch(/left out 1 listed session\(s\)/);
  });

  it('a session left out once is asked for again and stored', async () => {
    let first = true;
    const { s, outcome, cursor, stored } = await pull((r) => {
      if (r.report !== 'AccessSession' || !first) return undefined;
      first = false;
      return 'omit_first';
    });
    expect(outcome).toEqual({ 'corp-pra': 'ok' });
    expect(cursor).toBeDefined();
    const closed = [...Array(s.generator.count).keys()].filter((i) => s.generator.startMs(i) <= s.clock.now());
    expect(stored.size).toBe(closed.length);
  });

  it('a session deleted on the appliance after the listing is skipped, logged and counted', async () => {
    let victim: string | undefined;
    const { outcome, cursor, stored, lines, text } = await pull((r, s) => {
      if (r.report === 'AccessSession' && victim === undefined) {
        victim = firstLsid(r);
        s.sim.deleted.add(victim);
      }
      return undefined;
    });
    expect(outcome).toEqual({ 'corp-pra': 'ok' });
    expect(cursor).toBeDefined();
    expect(stored.has(victim!)).toBe(false);
    expect(stored.size).toBeGreaterThan(0);
    expect(text).toMatch(/ecm_bridge_reporting_sessions_vanished_total\{site="corp-pra"\} 1/);
    const warn = lines.find((l) => l.includes('deleted on the appliance'));
    expect(warn).toContain(victim);
  });
});
