import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { buildReportWorker, reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { AtlasCluster, type AtlasClusterOptions } from '../../../src/simulators/appliance/atlas-cluster.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { generateSimTls } from '../../../src/simulators/appliance/sim-tls.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { sample, writeCa } from '../appliance/harness.js';
import { capturedLogger, instantClock } from '../reporting/reporting-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const COUNT = 30;
const TRAFFIC = ['tn1.atlas.example', 'tn2.atlas.example'];
const REPORTER = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'read_only' as const },
};

/** A server outside the cluster that records every connection and request it gets. */
async function foreignRecorder() {
  const tls = await generateSimTls('foreign.example');
  const seen = { connections: 0, requests: [] as { path: string; authorization: string | undefined }[] };
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    seen.requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('stolen');
  });
  server.on('secureConnection', () => seen.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    caPem: tls.caPem,
    origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('Atlas recordings come from the traffic node the report names (real sockets)', () => {
  const stops: (() => Promise<void>)[] = [];
  let foreign: Awaited<ReturnType<typeof foreignRecorder>>;
  beforeAll(async () => {
    foreign = await foreignRecorder();
    stops.push(foreign.stop);
  });
  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  async function setup(
    o: {
      urlsOnSite?: boolean;
      redirect?: AtlasClusterOptions['recordingRedirect'];
      /** Traffic nodes (by index) down when the first pull runs. */
      down?: number[];
      retryForHours?: number;
    } = {},
  ) {
    const clock = new ManualClock(T0 + (COUNT + 60) * MIN);
    const generator = new SessionGenerator({
      seed: 11,
      count: COUNT,
      hostName: 'access.atlas.example',
      product: 'pra',
      firstStartMs: T0,
      spacingMs: MIN,
      trafficNodes: TRAFFIC,
      ...(o.urlsOnSite ? { recordingUrlsOnSite: true } : {}),
    });
    const cluster = new AtlasCluster({
      accounts: [REPORTER],
      now: () => clock.now(),
      generator,
      ...(o.redirect ? { recordingRedirect: o.redirect } : {}),
    });
    await cluster.start();
    stops.push(() => cluster.stop());
    for (const k of o.down ?? []) await cluster.traffic[k]!.stop();
    const dir = mkdtempSync(join(tmpdir(), 'atlas-rec-'));
    // The foreign server is trusted too: only the cluster rule keeps the bridge away from it.
    const caFile = writeCa(cluster.caPem + foreign.caPem);
    const yaml = [
      'allowLiteralSecrets: true',
      'sites:',
      '  - name: atlas',
      `    url: ${cluster.primary.url}`,
      `    caFile: ${caFile}`,
      `    atlas: ${JSON.stringify({ trafficNodes: TRAFFIC, hostMap: cluster.hostMap })}`,
      `    reporting: { clientId: ${REPORTER.clientId}, clientSecret: ${REPORTER.clientSecret} }`,
      `reporting: ${JSON.stringify({ overlapMinutes: 0, sliceMinutes: 120, initialLookbackHours: 3, recordings: { enabled: true, directory: dir, ...(o.retryForHours ? { retryForHours: o.retryForHours } : {}) } })}`,
    ].join('\n');
    const config = parseConfigText(yaml, 'test.yaml', { env: {} });
    const { log, lines } = capturedLogger();
    const rt = createRuntime(log, {
      clock: instantClock(clock),
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
    });
    const store = new MemoryStore();
    const w = buildReportWorker(reportWorkerSettings(config), rt, store);
    await w.start();
    stops.push(() => w.stop(1000));
    const now = clock.now();
    const recorded = [...Array(COUNT).keys()].filter((i) => generator.hasRecording(i) && generator.isClosed(i, now));
    const shells = [...Array(COUNT).keys()].flatMap((i) =>
      (generator.isClosed(i, now) ? generator.session(i, now).record.shellRecordings : []).map((r) => ({
        i,
        instance: r.instance as number,
      })),
    );
    const files = () => readdirSync(join(dir, 'atlas')).sort();
    return { clock, generator, cluster, dir, rt, lines, store, w, recorded, shells, files };
  }

  it('maps the public name to the internal address, verifies TLS against the public name, fetches recordings and shell recordings there', async () => {
    const s = await setup();
    expect(s.recorded.length).toBeGreaterThan(5);
    expect(s.shells.length).toBeGreaterThan(3);
    expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
    const lsid = (i: number) => s.generator.lsidOf(i);
    expect(s.files()).toEqual(
      [
        ...s.recorded.map((i) => `${lsid(i)}.flv`),
        ...s.shells.map(({ i, instance }) => `${lsid(i)}.shell-${instance}.txt`),
      ].sort(),
    );
    for (const i of s.recorded.slice(0, 4))
      expect(readFileSync(join(s.dir, 'atlas', `${lsid(i)}.flv`))).toEqual(s.generator.recording(i));
    const { i, instance } = s.shells[0]!;
    expect(readFileSync(join(s.dir, 'atlas', `${lsid(i)}.shell-${instance}.txt`))).toEqual(
      s.generator.shellRecording(i, instance),
    );
    // Each node was asked only for the files of its own sessions (another node's would be 404),
    // always with the token; the primary was never asked for a recording.
    for (const [k, node] of s.cluster.traffic.entries()) {
      const asked = node.requests.filter((r) => r.path !== '/check_health');
      const mine = s.recorded.filter((x) => x % 2 === k).length + s.shells.filter((x) => x.i % 2 === k).length;
      expect(asked.length).toBe(mine);
      expect(asked.every((r) => r.authorized)).toBe(true);
    }
    expect(s.cluster.reporting.stats.byReport.AccessSessionRecording).toBeUndefined();
    expect(await sample(s.rt.metrics, 'ecm_bridge_reporting_recordings_total{site="atlas",outcome="saved"}')).toBe(
      s.recorded.length + s.shells.length,
    );
  });

  it('follows the primary redirecting a recording to the traffic node (URLs on the site name)', async () => {
    const s = await setup({ urlsOnSite: true, redirect: 'traffic' });
    expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
    expect(s.cluster.reporting.stats.byReport.AccessSessionRecording).toBe(s.recorded.length);
    for (const i of s.recorded) expect(s.files()).toContain(`${s.generator.lsidOf(i)}.flv`);
  });

  it('refuses a redirect outside the cluster: the foreign host gets no connection and no token, the sessions are stored', async () => {
    // The foreign recorder listens on the primary's address, another port: another host.
    const s = await setup({ urlsOnSite: true, redirect: { origin: foreign.origin } });
    // A refused redirect's body is read off: left unread, each held its connection and a listener
    // on the worker's signal (Node warned of a leak after 10).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
    expect(foreign.seen).toEqual({ connections: 0, requests: [] });
    for (const i of s.recorded) expect(s.files()).not.toContain(`${s.generator.lsidOf(i)}.flv`);
    for (let i = 0; i < COUNT; i++)
      expect(await s.store.reports.readSession('127.0.0.1', s.generator.lsidOf(i))).toBeDefined();
    const refused = s.lines.filter((l) => l.includes('report.recording_host_refused'));
    expect(refused.length).toBe(s.recorded.length);
    expect(refused[0]).toContain(`redirects to ${foreign.origin}, not a host of the site's cluster`);
    expect(refused.join('\n')).not.toMatch(/lsid=|Bearer/);
    expect(await sample(s.rt.metrics, 'ecm_bridge_reporting_recordings_total{site="atlas",outcome="refused"}')).toBe(
      s.recorded.length,
    );
  });

  describe('a traffic node down for a whole pull', () => {
    /** The files (names without extension) of the sessions that ran on traffic node `k`. */
    const filesOf = (s: Awaited<ReturnType<typeof setup>>, k: number) =>
      [
        ...s.recorded.filter((i) => i % 2 === k).map((i) => s.generator.lsidOf(i)),
        ...s.shells.filter((x) => x.i % 2 === k).map((x) => `${s.generator.lsidOf(x.i)}.shell-${x.instance}`),
      ].sort();
    const missing = (s: Awaited<ReturnType<typeof setup>>) =>
      sample(s.rt.metrics, 'ecm_bridge_reporting_recordings_missing{site="atlas"}');
    const retries = (s: Awaited<ReturnType<typeof setup>>, outcome: string) =>
      sample(s.rt.metrics, `ecm_bridge_reporting_recording_retries_total{site="atlas",outcome="${outcome}"}`);

    it('stores every session, names the node once, owes its files and fetches them with backoff once it is back', async () => {
      const s = await setup({ down: [1] });
      const owedFiles = filesOf(s, 1);
      expect(owedFiles.length).toBeGreaterThan(3);
      const node = s.cluster.traffic[1]!;
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });

      for (let i = 0; i < COUNT; i++)
        expect(await s.store.reports.readSession('127.0.0.1', s.generator.lsidOf(i))).toBeDefined();
      const onDisk = () => s.files().map((f) => f.replace(/\.[^.]*$/, ''));
      expect(onDisk()).toEqual(filesOf(s, 0));
      const owed = await s.store.reports.missingRecordings({ site: 'atlas', limit: 100 });
      expect(owed.entries.map((e) => e.recording).sort()).toEqual(owedFiles);
      expect(owed.entries.every((e) => e.node === 'tn2.atlas.example' && e.attempts === 1)).toBe(true);
      expect(await missing(s)).toBe(owedFiles.length);
      // The node is named once for the pull, by its public name; no line per file.
      const named = s.lines.filter((l) => l.includes('tn2.atlas.example'));
      expect(named).toHaveLength(1);
      expect(named[0]).toContain(
        `traffic node tn2.atlas.example could not be reached in this pull; ${owedFiles.length} recording file(s) owed`,
      );
      expect(s.lines.filter((l) => l.includes('recording not fetched'))).toEqual([]);

      // Back, but the owed files are not due yet: the next pull leaves the node alone.
      await node.start();
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      expect(node.requests.filter((r) => r.path !== '/check_health')).toEqual([]);
      expect(await missing(s)).toBe(owedFiles.length);

      // Once due (the first retry waits 5 minutes), one pull fetches them all from that node.
      s.clock.advance(5 * MIN);
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      expect(onDisk()).toEqual([...filesOf(s, 0), ...owedFiles].sort());
      const i = s.recorded.find((x) => x % 2 === 1)!;
      expect(readFileSync(join(s.dir, 'atlas', `${s.generator.lsidOf(i)}.flv`))).toEqual(s.generator.recording(i));
      expect((await s.store.reports.missingRecordings({ site: 'atlas', limit: 100 })).total).toBe(0);
      expect(await missing(s)).toBe(0);
      expect(await retries(s, 'fetched')).toBe(owedFiles.length);
    });

    it("names a node reached only through the primary's redirects once too, owing its files", async () => {
      const s = await setup({ urlsOnSite: true, redirect: 'traffic', down: [1] });
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      const owed = await s.store.reports.missingRecordings({ site: 'atlas', limit: 100 });
      const recordedOn1 = s.recorded.filter((i) => i % 2 === 1).map((i) => s.generator.lsidOf(i));
      expect(owed.entries.map((e) => e.recording).sort()).toEqual(expect.arrayContaining(recordedOn1.sort()));
      expect(
        owed.entries.filter((e) => recordedOn1.includes(e.recording)).every((e) => e.node === 'tn2.atlas.example'),
      ).toBe(true);
      expect(s.lines.filter((l) => l.includes('tn2.atlas.example could not be reached'))).toHaveLength(1);
      expect(s.lines.filter((l) => l.includes('recording not fetched') && l.includes('tn2.atlas.example'))).toEqual([]);
    });

    it('gives an owed file up after reporting.recordings.retryForHours, counted and logged once', async () => {
      const s = await setup({ down: [0], retryForHours: 1 });
      const owedFiles = filesOf(s, 0);
      const owedNames = async () =>
        (await s.store.reports.missingRecordings({ site: 'atlas', limit: 1000 })).entries.map((e) => e.recording);
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      expect((await owedNames()).sort()).toEqual(owedFiles);
      // Still down 30 minutes later: tried again (once for the node), still owed, attempts counted.
      // (Sessions that closed meanwhile owe their files too, from this pull on.)
      s.clock.advance(30 * MIN);
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      const owed = await s.store.reports.missingRecordings({ site: 'atlas', limit: 1000 });
      const first = owed.entries.filter((e) => owedFiles.includes(e.recording));
      expect(first).toHaveLength(owedFiles.length);
      expect(first.every((e) => e.attempts === 2)).toBe(true);
      expect(await retries(s, 'failed')).toBe(owedFiles.length);
      expect(s.lines.filter((l) => l.includes('tn1.atlas.example could not be reached'))).toHaveLength(2);

      // 90 minutes after the first failure: those files are given up; later ones are still owed.
      s.clock.advance(60 * MIN);
      expect(await s.w.runNow()).toEqual({ atlas: 'ok' });
      const left = await owedNames();
      expect(left.filter((r) => owedFiles.includes(r))).toEqual([]);
      expect(await missing(s)).toBe(left.length);
      expect(await retries(s, 'expired')).toBe(owedFiles.length);
      expect(s.lines.filter((l) => l.includes('retryForHours are given up'))).toHaveLength(1);
    });
  });
});
