/**
 * /healthz latency while Test Settings drafts with the campaign's pathological rule run (issue 25,
 * point 1). Each draft goes through what the status route does with it before the vault is asked:
 * `checkDraft` (YAML, validation, compiling and mapping, in a killable worker) and the in-process
 * mapping decision of the checked draft. The baseline is the same probing with no draft running,
 * in the same run. No vault is contacted: the vault calls are network waits, not loop time.
 *
 *   npx tsx scripts/bench/draft-isolation.ts [--probes 400] [--drafts 10] [--runs 3]
 */
import { request } from 'undici';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';
import { checkDraft, parseDraft } from '../../src/app/checks/draft-check.js';
import { createRuntime } from '../../src/app/runtime.js';
import { UserMapper } from '../../src/broker/user-mapper.js';
import { OpsServer } from '../../src/http/ops-server.js';
import { silentLogger } from '../../src/platform/logger.js';
import { load1, machineLine, printTable, quantile } from './bench-stats.js';

const { values } = parseArgs({
  options: {
    probes: { type: 'string', default: '400' },
    drafts: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
  },
});
const PROBES = Number(values.probes);
const RUNS = Number(values.runs);
const DRAFTS = Number(values.drafts);

const doc = parseDocument('userMapping: { default: deny }\n');
doc.setIn(['userMapping', 'rules'], [{ name: 'hostile', match: { username: 'regex:^(CORP\\\\)?a*a*a*a*a*a*$' } }]);
const draftYaml = doc.toString();
const user = `${'a'.repeat(124)}!`;

async function drafts(): Promise<number> {
  let n = 0;
  while (n < DRAFTS) {
    const checked = await checkDraft({ draftYaml, user });
    if (checked.kind !== 'ok') throw new Error(JSON.stringify(checked));
    new UserMapper(parseDraft(draftYaml).userMapping).decide({ user: { username: user } });
    n++;
  }
  return n;
}

/** `PROBES` probes, one after the other, and then more as long as `more()` says. */
async function probe(base: string, more = () => false): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < PROBES || more(); i++) {
    const t = performance.now();
    const r = await request(`${base}/healthz`);
    await r.body.dump();
    ms.push(performance.now() - t);
  }
  return ms;
}

const rt = createRuntime(silentLogger());
const server = new OpsServer({ host: '127.0.0.1', port: 0 }, rt);
await server.start();
const base = `http://127.0.0.1:${server.address.port}`;
console.log(machineLine());
const rows: string[][] = [];
for (let run = 1; run <= RUNS; run++) {
  const load = load1();
  const idle = await probe(base);
  let done = false;
  const running = drafts().finally(() => (done = true));
  const busy = await probe(base, () => !done);
  const count = await running;
  const fmt = (xs: number[]) =>
    `${quantile(xs, 0.5).toFixed(1)} / ${quantile(xs, 0.99).toFixed(1)} / ${Math.max(...xs).toFixed(1)}`;
  rows.push([
    String(run),
    load,
    fmt(idle),
    fmt(busy),
    String(count),
    (quantile(busy, 0.99) / quantile(idle, 0.99)).toFixed(2),
  ]);
}
printTable(
  ['run', 'load', 'idle p50 / p99 / max ms', 'drafts running p50 / p99 / max ms', 'drafts done', 'p99 ratio'],
  rows,
);
await server.stop();
