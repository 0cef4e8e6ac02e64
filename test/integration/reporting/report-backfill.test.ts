import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReportClient } from '../../../src/reporting/report-client.js';
import { runCli } from '../../../src/main.js';
import { systemClock } from '../../../src/platform/clock.js';
import { loadConfigFile } from '../../../src/app/config-schema.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { reportingChecks } from '../../../src/app/units/reporting-unit.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { backfillCursorKey, runBackfill } from '../../../src/reporting/backfill.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ReportingSimulator } from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { REPORTING_ACCOUNT, writeCa } from '../appliance/harness.js';
import { instantClock, ListTokens, scenario, T0 } from './reporting-fixture.js';

describe('report backfill', () => {
  it('an interrupted backfill resumes after its last committed slice and ends complete', async () => {
    let failAt = 3;
    let sessionCalls = 0;
    const s = await scenario(400, {
      fault: (r) => (r.report === 'AccessSession' && ++sessionCalls === failAt ? 'error' : undefined),
    });
    const agent = new Agent({ connect: { ca: [s.caPem] } });
    const store = new MemoryStore();
    const client = new ReportClient({
      site: { name: 'corp-pra', url: s.url, product: 'pra' },
      tokens: new ListTokens(['good-token']),
      dispatcher: agent,
      clock: instantClock(s.clock),
      retries: { max: 0, baseDelayMs: 1, maxDelayMs: 1 },
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    const deps = { source: client, reports: store.reports, state: store.state, log: silentLogger() };
    const range = {
      site: 'corp-pra',
      cursorKey: 'reporting/corp-pra/AccessSession',
      fromMs: T0,
      toMs: T0 + 400 * 60_000,
      sliceMs: 60 * 60_000,
      batchSize: 25,
      includeInProgress: false,
    };
    await expect(runBackfill(deps, range)).rejects.toMatchObject({ code: 'appliance.api_error' });
    const key = backfillCursorKey(range.cursorKey, range.fromMs, range.toMs);
    const stoppedAt = await store.state.getCursor(key);
    expect(stoppedAt).toBe(new Date(T0 + 60 * 60_000).toISOString());
    expect(await store.state.getCursor(range.cursorKey)).toBeUndefined();
    failAt = -1;
    const progress: number[] = [];
    let start: { total: number; resumedFromMs: number | undefined } | undefined;
    const result = await runBackfill(deps, {
      ...range,
      onStart: (x) => (start = x),
      onProgress: (p) => progress.push(p.done),
    });
    expect(start?.resumedFromMs).toBe(T0 + 60 * 60_000);
    expect(result.total).toBe(progress.at(-1));
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const want = [...s.generator.records(range.toMs)].filter(
      (r) => r.endTime !== null && r.endTime.getTime() < range.toMs,
    );
    // Everything that closed in the range is there, and nothing else: no gaps, no extras.
    expect([...store.reports.sessions.values()].map((r) => r.lsid).sort()).toEqual(want.map((r) => r.lsid).sort());
    await agent.close();
    await s.close();
  });

  it('a session that fails validation is quarantined, not counted, and the backfill completes', async () => {
    const s = await scenario(120, {
      rewrite: (i, element) => (i === 30 ? element.replace(/ lsid="[^"]*"/, ' lsid="a b"') : element),
    });
    const agent = new Agent({ connect: { ca: [s.caPem] } });
    const store = new MemoryStore();
    const client = new ReportClient({
      site: { name: 'corp-pra', url: s.url, product: 'pra' },
      tokens: new ListTokens(['good-token']),
      dispatcher: agent,
      clock: instantClock(s.clock),
      retries: { max: 0, baseDelayMs: 1, maxDelayMs: 1 },
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    const deps = { source: client, reports: store.reports, state: store.state, log: silentLogger() };
    let total: number | undefined;
    const result = await runBackfill(deps, {
      site: 'corp-pra',
      cursorKey: 'reporting/corp-pra/AccessSession',
      fromMs: T0,
      toMs: T0 + 120 * 60_000,
      sliceMs: 60 * 60_000,
      batchSize: 25,
      includeInProgress: false,
      onStart: (x) => (total = x.total),
    });
    const closed = [...s.generator.records(T0 + 120 * 60_000)].filter(
      (r) => r.endTime !== null && r.endTime.getTime() < T0 + 120 * 60_000,
    ).length;
    expect(total).toBe(closed - 1);
    expect(result.done).toBe(closed - 1);
    expect(store.reports.sessions.size).toBe(closed - 1);
    expect((await store.reports.quarantined(10)).entries.map((e) => [e.lsid, e.reason])).toEqual([
      ['a b', 'lsid_invalid'],
    ]);
    await agent.close();
    await s.close();
  });

  it('a --to still in the future: the cursor is keyed by the requested end, so a later rerun resumes (only up to now)', async () => {
    let failAt = 3;
    let sessionCalls = 0;
    const s = await scenario(400, {
      fault: (r) => (r.report === 'AccessSession' && ++sessionCalls === failAt ? 'error' : undefined),
    });
    const agent = new Agent({ connect: { ca: [s.caPem] } });
    const store = new MemoryStore();
    const client = new ReportClient({
      site: { name: 'corp-pra', url: s.url, product: 'pra' },
      tokens: new ListTokens(['good-token']),
      dispatcher: agent,
      clock: instantClock(s.clock),
      retries: { max: 0, baseDelayMs: 1, maxDelayMs: 1 },
      log: silentLogger(),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
    });
    const deps = { source: client, reports: store.reports, state: store.state, log: silentLogger() };
    // Requested --to is far past both "nows" below: each run pulls only up to its own now.
    const range = {
      site: 'corp-pra',
      cursorKey: 'reporting/corp-pra/AccessSession',
      fromMs: T0,
      toMs: T0 + 10_000 * 60_000,
      sliceMs: 60 * 60_000,
      batchSize: 25,
      includeInProgress: false,
    };
    await expect(runBackfill(deps, { ...range, nowMs: T0 + 200 * 60_000 })).rejects.toMatchObject({
      code: 'appliance.api_error',
    });
    const key = backfillCursorKey(range.cursorKey, range.fromMs, range.toMs);
    expect(await store.state.getCursor(key)).toBe(new Date(T0 + 60 * 60_000).toISOString());
    failAt = -1;
    const nowMs = T0 + 300 * 60_000;
    let start: { total: number; resumedFromMs: number | undefined } | undefined;
    await runBackfill(deps, { ...range, nowMs, onStart: (x) => (start = x) });
    expect(start?.resumedFromMs).toBe(T0 + 60 * 60_000);
    expect(await store.state.getCursor(key)).toBe(new Date(nowMs).toISOString());
    const want = [...s.generator.records(nowMs)].filter((r) => r.endTime !== null && r.endTime.getTime() < nowMs);
    expect(want.length).toBeGreaterThan(0);
    expect([...store.reports.sessions.values()].map((r) => r.lsid).sort()).toEqual(want.map((r) => r.lsid).sort());
    await agent.close();
    await s.close();
  });

  describe('the CLI through the appliance simulator (HTTPS, OAuth) into PGlite', () => {
    const generator = new SessionGenerator({
      seed: 9,
      count: 300,
      hostName: '127.0.0.1',
      product: 'pra',
      firstStartMs: Date.UTC(2025, 0, 1),
      spacingMs: 60_000,
    });
    const reporting = new ReportingSimulator({ generator, now: () => Date.now() });
    const appliance = new ApplianceSimulator({ accounts: [REPORTING_ACCOUNT], reporting: reporting.handle });
    let configFile = '';
    beforeAll(async () => {
      await appliance.start();
      const dir = mkdtempSync(join(tmpdir(), 'backfill-cli-'));
      configFile = join(dir, 'config.yaml');
      writeFileSync(
        configFile,
        [
          'sites:',
          '  - name: corp-pra',
          `    url: ${appliance.url}`,
          `    caFile: ${writeCa(appliance.caPem)}`,
          '    reporting: { clientId: rep-client, clientSecret: env:REP_SECRET }',
          'store: { kind: embedded, dataDir: "memory://" }',
          // Twenty-minute slices with in-progress sessions: many sessions span a slice boundary.
          'reporting: { sliceMinutes: 20, batchSize: 50, includeInProgress: true }',
        ].join('\n'),
      );
    });
    afterAll(() => appliance.stop());

    it('off a terminal: bounded progress lines and a summary counting each session once; wrong site and dates are usage errors', async () => {
      let out = '';
      let err = '';
      const sink = (f: (s: string) => void) =>
        new Writable({
          write(c, _e, cb) {
            f(String(c));
            cb();
          },
        });
      const io = {
        stdout: sink((s) => (out += s)),
        stderr: sink((s) => (err += s)),
        env: { REP_SECRET: REPORTING_ACCOUNT.clientSecret as string },
      };
      const code = await runCli(
        [
          'report',
          'backfill',
          '--config',
          configFile,
          '--site',
          'corp-pra',
          '--from',
          '2025-01-01',
          '--to',
          '2025-01-01T02:00:00Z',
        ],
        io,
      );
      expect(err).toBe('');
      expect(code).toBe(0);
      const lines = out.trim().split('\n');
      // Each session that ended or started in the range, once, though a session spanning two
      // slices is listed by both (started in one, ended in the next).
      const [fromMs, toMs] = [Date.parse('2025-01-01T00:00:00Z'), Date.parse('2025-01-01T02:00:00Z')];
      const inRange = (t: Date | null) => t !== null && t.getTime() >= fromMs && t.getTime() < toMs;
      const records = [...generator.records(Date.now())];
      const distinct = records.filter((r) => inRange(r.startTime) || inRange(r.endTime)).length;
      const spanning = records.filter(
        (r) =>
          inRange(r.startTime) &&
          inRange(r.endTime) &&
          Math.floor(r.startTime.getTime() / 1_200_000) !== Math.floor(r.endTime!.getTime() / 1_200_000),
      ).length;
      expect(spanning).toBeGreaterThan(5);
      expect(lines[0]).toBe(`backfill corp-pra: ${distinct} session(s) to load`);
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `^backfill corp-pra: ${distinct} session\\(s\\) loaded \\(${distinct} new, 0 updated\\) in \\d\\d:\\d\\d$`,
        ),
      );
      // 6 slices: one summary line per 24 slices (or 10 s), not one per slice.
      const progress = lines.slice(1, -1);
      expect(progress.length).toBeLessThan(6 / 2);
      for (const l of progress)
        expect(l).toMatch(/^backfill corp-pra: \d+\/\d+ sessions {2}\d+\/s {2}ETA [\d:-]+ \(\d+%\)/);
      expect(out + err).not.toContain(REPORTING_ACCOUNT.clientSecret as string);
      expect(
        await runCli(
          [
            'report',
            'backfill',
            '--config',
            configFile,
            '--site',
            'nope',
            '--from',
            '2025-01-01',
            '--to',
            '2025-01-02',
          ],
          io,
        ),
      ).toBe(2); // usage error
      expect(err).toContain('no site "nope" with an enabled reporting account');
      expect(
        await runCli(
          [
            'report',
            'backfill',
            '--config',
            configFile,
            '--site',
            'corp-pra',
            '--from',
            'yesterday',
            '--to',
            '2025-01-02',
          ],
          io,
        ),
      ).toBe(2); // usage error
      expect(err).toContain('--from must be a date (2026-01-31) or an ISO-8601 time, got "yesterday"');
      // A backfill that failed before it started (here: a wrong secret) has nothing to resume.
      let refused = '';
      const failed = await runCli(
        [
          'report',
          'backfill',
          '--config',
          configFile,
          '--site',
          'corp-pra',
          '--from',
          '2025-01-01',
          '--to',
          '2025-01-02',
        ],
        { ...io, stderr: sink((s) => (refused += s)), env: { REP_SECRET: 'not-the-secret' } },
      ).catch(() => 1);
      expect(failed).not.toBe(0);
      expect(refused).not.toContain('rerun the same command to resume');
    });

    it('`check` lists the reporting API per site: OK with the right account, auth_failed with a wrong secret', async () => {
      const rt = {
        log: silentLogger(),
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        readiness: new Readiness(),
        clock: systemClock,
        instanceId: 'test',
      };
      const good = reportingChecks(
        loadConfigFile(configFile, { env: { REP_SECRET: REPORTING_ACCOUNT.clientSecret as string } }),
        rt,
      );
      expect(good.map((c) => c.name)).toEqual(['site corp-pra Reporting API']);
      expect(await good[0]!.run(AbortSignal.timeout(10_000))).toMatchObject({
        ok: true,
        detail: expect.stringMatching(/^listing works \(\d+ session\(s\) closed in the last minute\)$/),
      });
      const bad = reportingChecks(loadConfigFile(configFile, { env: { REP_SECRET: 'wrong-secret' } }), rt);
      const r = await bad[0]!.run(AbortSignal.timeout(10_000));
      expect(r).toMatchObject({ ok: false, detail: expect.stringMatching(/^\[appliance\.auth_failed\]/) });
      expect(r.detail).not.toContain('wrong-secret');
    });
  });
});
