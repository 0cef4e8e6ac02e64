import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { buildReportWorker, reportWorkerSettings } from '../../../src/app/units/reporting-unit.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { AtlasCluster } from '../../../src/simulators/appliance/atlas-cluster.js';
import { SessionGenerator } from '../../../src/simulators/appliance/reporting/session-generator.js';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { writeCa } from '../appliance/harness.js';
import { capturedLogger, instantClock } from '../reporting/reporting-fixture.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const COUNT = 40;
const TRAFFIC = ['tn1.atlas.example', 'tn2.atlas.example'];
const REPORTER = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'read_only' as const },
};

/**
 * The recommended Atlas setup: the primary is itself a failover pair (`nodes:`), sessions run on
 * traffic nodes that keep their recordings. A role swap moves reporting to the other node; the
 * traffic nodes accept the tokens the new primary mints.
 */
describe('an Atlas cluster whose primary is a failover pair (real sockets)', () => {
  const stops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const s of stops.splice(0).reverse()) await s();
  });

  it('stores every session and fetches every recording through a swap of the primary, with a traffic node down meanwhile', async () => {
    const clock = new ManualClock(T0 + 25 * MIN);
    const generator = new SessionGenerator({
      seed: 23,
      count: COUNT,
      hostName: 'access.atlas.example',
      product: 'pra',
      firstStartMs: T0,
      spacingMs: MIN,
      trafficNodes: TRAFFIC,
    });
    const cluster = new AtlasCluster({
      accounts: [REPORTER],
      now: () => clock.now(),
      generator,
      failoverPair: { syncLagMs: 5 * MIN },
    });
    await cluster.start();
    stops.push(() => cluster.stop());
    const [n0, n1] = cluster.pair!.nodes;
    const dir = mkdtempSync(join(tmpdir(), 'atlas-pair-'));
    const yaml = [
      'allowLiteralSecrets: true',
      'sites:',
      '  - name: atlas',
      `    url: ${n0.url}`,
      `    nodes: [${n0.node}, ${n1.node}]`,
      `    caFile: ${writeCa(cluster.caPem)}`,
      `    atlas: ${JSON.stringify({ trafficNodes: TRAFFIC, hostMap: cluster.hostMap })}`,
      `    reporting: { clientId: ${REPORTER.clientId}, clientSecret: ${REPORTER.clientSecret} }`,
      `reporting: ${JSON.stringify({ overlapMinutes: 0, sliceMinutes: 60, initialLookbackHours: 2, recordings: { enabled: true, directory: dir } })}`,
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

    /** The recording files of the sessions closed by now, as named on disk (without extension). */
    const expectedFiles = () => {
      const now = clock.now();
      const names: string[] = [];
      for (let i = 0; i < COUNT; i++) {
        if (!generator.isClosed(i, now)) continue;
        if (generator.hasRecording(i)) names.push(generator.lsidOf(i));
        for (const r of generator.session(i, now).record.shellRecordings)
          names.push(`${generator.lsidOf(i)}.shell-${r.instance}`);
      }
      return names.sort();
    };
    const onDisk = () =>
      readdirSync(join(dir, 'atlas'))
        .map((f) => f.replace(/\.[^.]*$/, ''))
        .sort();
    const storedCount = async () => {
      let n = 0;
      for (let i = 0; i < COUNT; i++) if (await store.reports.readSession('127.0.0.1', generator.lsidOf(i))) n++;
      return n;
    };
    const startedBy = (now: number) => [...Array(COUNT).keys()].filter((i) => generator.startMs(i) <= now).length;

    expect(await w.runNow()).toEqual({ atlas: 'ok' });
    expect(await storedCount()).toBe(startedBy(clock.now()));
    expect(onDisk()).toEqual(expectedFiles());

    // A planned swap: node 1 is primary now; sessions from here on run (and are listed) there only.
    // Traffic node 2 goes down for the next pull.
    cluster.pair!.swap();
    expect(cluster.primary).toBe(n1);
    await cluster.traffic[1]!.stop();
    await clock.advance(20 * MIN);
    expect(await w.runNow()).toEqual({ atlas: 'ok' });
    expect(await storedCount()).toBe(startedBy(clock.now()));
    const owed = await store.reports.missingRecordings({ site: 'atlas', limit: 100 });
    expect(owed.total).toBeGreaterThan(0);
    expect(owed.entries.every((e) => e.node === 'tn2.atlas.example')).toBe(true);
    expect(onDisk()).toEqual(expectedFiles().filter((f) => !owed.entries.some((e) => e.recording === f)));
    expect(lines.filter((l) => l.includes('tn2.atlas.example could not be reached'))).toHaveLength(1);

    // The node is back: once the owed files are due, the next pull fetches them with a token of the new primary.
    await cluster.traffic[1]!.start();
    await clock.advance(5 * MIN);
    expect(await w.runNow()).toEqual({ atlas: 'ok' });
    expect(await storedCount()).toBe(startedBy(clock.now()));
    expect(onDisk()).toEqual(expectedFiles());
    expect((await store.reports.missingRecordings({ site: 'atlas', limit: 100 })).total).toBe(0);
    for (const node of cluster.traffic)
      expect(node.requests.filter((r) => r.path !== '/check_health').every((r) => r.authorized)).toBe(true);
  });
});
