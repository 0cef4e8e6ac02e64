import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { ReportClient } from '../../../src/reporting/report-client.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import type { ReportFault } from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import { capturedLogger, instantClock, ListTokens, scenario, type Scenario } from './reporting-fixture.js';
import { rejection as failure } from '../../helpers/rejection.js';

let open: Scenario[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(open.map((s) => s.close()));
  await Promise.all(agents.splice(0).map((a) => a.close()));
  open = [];
});

async function setup(faults: (ReportFault | undefined)[] = [], tokens = new ListTokens(['good-token'])) {
  const s = await scenario(50, { fault: (r) => faults[r.seq - 1] });
  open.push(s);
  const { log, lines } = capturedLogger();
  const clock = instantClock(s.clock);
  // Bounds for a hang only (no fault here stalls): a loaded machine may take seconds to answer.
  const dispatcher = new Agent({
    connect: { timeout: 60_000, ca: [s.caPem] },
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  agents.push(dispatcher);
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const client = new ReportClient({
    site: { name: 'corp-pra', url: s.url, product: 'pra' },
    tokens,
    dispatcher,
    clock,
    log,
    metrics,
    retries: { max: 3, baseDelayMs: 100, maxDelayMs: 2000 },
    random: () => 0.5,
  });
  return { s, client, clock, lines, tokens, metrics };
}

const window = (s: Scenario) => ({ by: 'end' as const, fromMs: s.clock.now() - 3_600_000, toMs: s.clock.now() });

describe('ReportClient over a real socket', () => {
  it('lists a window and fetches sessions by lsids, each call on its own connection', async () => {
    const { s, client } = await setup();
    const listing = await client.listing(window(s));
    expect(listing.length).toBeGreaterThan(10);
    const sessions = await client.sessions(
      listing.map((l) => l.lsid),
      'test',
    );
    expect(sessions.map((x) => x.lsid)).toEqual(listing.map((l) => l.lsid));
    expect(sessions[0]).toEqual(s.generator.session(s.generator.indexOf(sessions[0]!.lsid)!, s.clock.now()).record);
    expect(s.sim.stats.withoutConnectionClose).toBe(0);
  });

  it('retries 5xx with backoff and 429 after Retry-After on the injected clock', async () => {
    const { s, client, clock, lines, metrics } = await setup(['status500', 'status429', 'status500']);
    expect((await client.listing(window(s))).length).toBeGreaterThan(0);
    expect(s.sim.stats.requests).toBe(4);
    expect(clock.delays).toEqual([50, 1000, 200]);
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(3);
    expect(await metrics.metrics()).toMatch(/outcome="retried"\} 3/);
  });

  it('gives up after the retry budget with appliance.unavailable naming report and window', async () => {
    const { s, client } = await setup(['status500', 'status500', 'status500', 'status500']);
    const e = await failure(client.listing(window(s)));
    expect(e.code).toBe('appliance.unavailable');
    expect(e.message).toMatch(
      /^AccessSessionListing \(end_time 2026-\S+\.\.2026-\S+\) on site corp-pra failed after 4 attempts: HTTP 500$/,
    );
  });

  it('turns an <error> answer into appliance.api_error naming the report and the window', async () => {
    const { s, client } = await setup(['error']);
    const e = await failure(client.sessions(['00'], 'end_time 2026-01-01T00:00:00Z..2026-01-01T01:00:00Z'));
    expect(e.code).toBe('appliance.api_error');
    expect(e.message).toBe(
      'AccessSession report from site corp-pra (1 lsids of end_time 2026-01-01T00:00:00Z..2026-01-01T01:00:00Z) answered an error: Report generation failed: database busy',
    );
    expect(s.sim.stats.requests).toBe(1);
  });

  it('malformed XML is report.xml_invalid with the position, not retried', async () => {
    const { client } = await setup(['malformed']);
    const e = await failure(client.sessions(['00'], 'w'));
    expect(e.code).toBe('report.xml_invalid');
    expect(e.message).toMatch(
      /AccessSession report from site corp-pra \(1 lsids of w\) is invalid: .* at line \d+, column \d+/,
    );
    expect(e.details).toMatchObject({ site: 'corp-pra', window: '1 lsids of w' });
  });

  it('re-mints the token once on 401, and fails with appliance.auth_failed if the new one is refused too; tokens never logged', async () => {
    const one = await setup([], new ListTokens(['stale-token-aaaa', 'good-token']));
    expect((await one.client.listing(window(one.s))).length).toBeGreaterThan(0);
    expect(one.tokens.invalidations).toBe(1);
    const two = await setup([], new ListTokens(['stale-token-aaaa', 'stale-token-bbbb', 'good-token']));
    const e = await failure(two.client.listing(window(two.s)));
    expect(e.code).toBe('appliance.auth_failed');
    expect(two.tokens.invalidations).toBe(2);
    for (const text of [one.lines.join(''), two.lines.join(''), e.message]) {
      expect(text).not.toMatch(/stale-token|good-token/);
    }
  });

  it('retries a refused connection, then reports appliance.unavailable', async () => {
    const { s, client, clock } = await setup();
    await s.close();
    open = [];
    const e = await failure(client.listing(window(s)));
    expect(e.code).toBe('appliance.unavailable');
    expect(e.message).toMatch(/failed after 4 attempts: transport error \(ECONNREFUSED\)/);
    expect(clock.delays).toHaveLength(3);
  });

  it('downloads a recording as a stream with its extension; a session without one is an api_error', async () => {
    const { s, client } = await setup();
    const now = s.clock.now();
    const i = [...Array(50).keys()].find((k) => s.generator.hasRecording(k) && s.generator.isClosed(k, now))!;
    const rec = await client.recording({ lsid: s.generator.lsidOf(i), url: null });
    expect(rec.extension).toBe('flv');
    expect(Buffer.from(await rec.body.toArray().then((c) => Buffer.concat(c)))).toEqual(s.generator.recording(i));
    const j = [...Array(50).keys()].find((k) => !s.generator.hasRecording(k))!;
    expect((await failure(client.recording({ lsid: s.generator.lsidOf(j), url: null }))).code).toBe(
      'appliance.api_error',
    );
  });
});
