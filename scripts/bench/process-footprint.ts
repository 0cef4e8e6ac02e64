/**
 * Benchmark: how lean the process is. `ecm-bridge --help` and `version` start-up against
 * `node -e 0`; idle RSS and open time of the embedded store as the bridge opens it against PGlite
 * with its default Postgres settings, on an existing data directory and on a new one (the bridge
 * loads its cluster template; PGlite alone runs initdb); `ecm-bridge serve` (the demo configuration
 * against the Password Safe and appliance simulators, reporting off) from spawn to `/readyz` 200,
 * and its RSS then and after `--idle-ms` more, on an existing and on a new data directory, against
 * a fresh process that imports PGlite and opens a copy of that directory (a new one: PGlite's own
 * initdb). Each figure is the median of `runs` fresh processes, with the 1-minute load average
 * before each.
 *
 *   npm run build && npx tsx scripts/bench/process-footprint.ts [--runs N] [--idle-ms N]
 */
import { execFileSync } from 'node:child_process';
import module from 'node:module';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, load1, machineLine, median, printTable, type Sampled } from './bench-stats.js';
import { pgliteOpenProcess, startServeTarget } from './serve-target.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, 'idle-ms': { type: 'string', default: '2000' } },
});
const runs = Number(values.runs);
const idleMs = Number(values['idle-ms']);

const wall = (args: string[]) => () => {
  const t = performance.now();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return performance.now() - t;
};
const child = (mode: string, dir: string) => {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', 'scripts/bench/footprint-child.ts', mode, dir],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as { openMs: number; rssMiB: number };
};

/** `runs` samples of each figure `f` returns, the load before each run. */
async function sampleAll<K extends string>(f: (i: number) => Promise<Record<K, number>>): Promise<Record<K, Sampled>> {
  const out = {} as Record<K, Sampled>;
  for (let i = 0; i < runs; i++) {
    const load = load1();
    for (const [k, v] of Object.entries(await f(i)) as [K, number][]) {
      out[k] ??= { values: [], loads: [] };
      out[k].values.push(v);
      out[k].loads.push(load);
    }
  }
  return out;
}
/** `runs` samples of one figure. */
const sample = async (f: () => number) => (await sampleAll(async () => ({ v: f() }))).v;

const root = mkdtempSync(join(tmpdir(), 'footprint-'));
// serve's compile cache (bin/ecm-bridge.js) in a directory of this run's: Node 22.1 and later.
const compileCache = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
const cached = { XDG_CACHE_HOME: join(root, 'cache') };
const noCache = { NODE_DISABLE_COMPILE_CACHE: '1' };
const dir = join(root, 'db');
const target = await startServeTarget(root);
const fresh = (name: string, i: number) => join(root, `${name}-${i}`);
try {
  child('bridge', dir); // creates and migrates the data directory: every measured open is of an existing one
  const nodeBase = await sample(wall(['-e', '0']));
  const help = await sample(wall(['bin/ecm-bridge.js', '--help']));
  const version = await sample(wall(['bin/ecm-bridge.js', 'version']));
  const printSql = await sample(wall(['bin/ecm-bridge.js', 'db', 'print-sql', '--dialect', 'mssql']));
  const existing = await sampleAll(async () => {
    const d = child('defaults', dir);
    const b = child('bridge', dir);
    return { rssD: d.rssMiB, openD: d.openMs, rssB: b.rssMiB, openB: b.openMs };
  });
  const created = await sampleAll(async (i) => {
    const d = child('defaults', fresh('defaults', i));
    const b = child('bridge', fresh('bridge', i));
    return { rssD: d.rssMiB, openD: d.openMs, rssB: b.rssMiB, openB: b.openMs };
  });
  // Creates and migrates serve's data directory, and fills the compile cache (Node 22 and later).
  await target.serveToReady({ env: cached });
  const serveExisting = await sampleAll(async (i) => {
    const copy = join(root, `copy-${i}`);
    cpSync(target.dataDir, copy, { recursive: true });
    const pglite = (await pgliteOpenProcess(copy)).ms;
    const s = await target.serveToReady({ idleMs, env: cached });
    const off = compileCache ? (await target.serveToReady({ env: noCache })).ms : Number.NaN;
    return { pglite, ms: s.ms, rss: s.rssMiB, idleRss: s.idleRssMiB, off };
  });
  const serveNew = await sampleAll(async (i) => {
    const pglite = (await pgliteOpenProcess(fresh('pglite-new', i))).ms;
    const s = await target.serveToReady({ dataDir: fresh('serve-new', i), idleMs, env: cached });
    return { pglite, ms: s.ms, rss: s.rssMiB, idleRss: s.idleRssMiB };
  });
  const ratio = (a: Sampled, b: Sampled) => `${median(a.values.map((v, i) => v / b.values[i]!)).toFixed(2)}x`;
  console.log(
    `process footprint benchmark, median of ${runs} fresh processes; serve's idle RSS ${idleMs} ms after ready`,
  );
  console.log(machineLine());
  console.log(
    compileCache
      ? 'serve: compile cache on (warm) unless the row says off'
      : 'serve: no compile cache (Node 20 has none for ES modules)',
  );
  console.log('');
  const storeRows = (label: string, m: Record<'rssD' | 'openD' | 'rssB' | 'openB', Sampled>) => [
    [`PGlite defaults: idle RSS MiB (${label})`, describe(m.rssD, 0), 'baseline'],
    [`bridge store (PgliteStore.open + migrate): idle RSS MiB (${label})`, describe(m.rssB, 0), ratio(m.rssB, m.rssD)],
    [`PGlite defaults: open ms (${label})`, describe(m.openD, 0), 'baseline'],
    [`bridge store: open + migrate ms (${label})`, describe(m.openB, 0), ratio(m.openB, m.openD)],
  ];
  const serveRows = (label: string, m: Record<'pglite' | 'ms' | 'rss' | 'idleRss', Sampled> & { off?: Sampled }) => [
    [`PGlite open in a fresh process (spawn to open) ms (${label})`, describe(m.pglite, 0), 'baseline'],
    [`\`ecm-bridge serve\` spawn to /readyz 200 ms (${label})`, describe(m.ms, 0), ratio(m.ms, m.pglite)],
    ...(m.off && compileCache
      ? [
          [
            `\`ecm-bridge serve\` spawn to /readyz 200 ms, compile cache off (${label})`,
            describe(m.off, 0),
            ratio(m.off, m.pglite),
          ],
        ]
      : []),
    [`\`ecm-bridge serve\` RSS MiB at ready (${label})`, describe(m.rss, 0), 'target < 300'],
    [`\`ecm-bridge serve\` RSS MiB ${idleMs} ms after ready (${label})`, describe(m.idleRss, 0), 'target < 300'],
  ];
  printTable(
    ['case', 'value', 'vs baseline'],
    [
      ['`node -e 0` wall ms', describe(nodeBase, 0), 'baseline'],
      ['`ecm-bridge --help` wall ms', describe(help, 0), ratio(help, nodeBase)],
      ['`ecm-bridge version` wall ms', describe(version, 0), ratio(version, nodeBase)],
      ['`ecm-bridge db print-sql` wall ms', describe(printSql, 0), ratio(printSql, nodeBase)],
      ...storeRows('existing data dir', existing),
      ...storeRows('new data dir', created),
      ...serveRows('existing data dir', serveExisting),
      ...serveRows('new data dir', serveNew),
    ],
  );
} finally {
  await target.stop();
  rmSync(root, { recursive: true, force: true });
}
