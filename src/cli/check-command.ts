import { createRuntime } from '../app/runtime.js';
import { silentLogger } from '../platform/logger.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import type { CheckResult } from '../app/checks/check.js';
import { configChecks } from '../app/checks/checks.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';

/** One line of the report: a failure whose cause an earlier line already named is a consequence. */
interface CheckLine extends CheckResult {
  component: string;
  name: string;
  /** `component name` of the failure that is the root cause of this one. */
  causedBy?: string;
}

function render(line: CheckLine, color: boolean): string[] {
  const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const mark = !line.ok
    ? line.causedBy
      ? paint(33, 'SKIP')
      : paint(31, 'FAIL')
    : line.warning
      ? paint(33, 'WARN')
      : paint(32, 'OK  ');
  const head = `${mark} ${line.component.padEnd(20)} ${line.name.padEnd(28)}`;
  if (line.causedBy) return [`${head} same cause as ${line.causedBy} (above)`];
  const out = [`${head} ${line.detail}`];
  if ((!line.ok || line.warning) && line.fix) out.push(`     ${''.padEnd(20)} ${''.padEnd(28)} fix: ${line.fix}`);
  return out;
}

export const runCheck: CommandRun = async (args, io, command) => {
  const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  if (!file) return usage(io, command.usage);
  const loaded = loadOrReport(file, io);
  if (!loaded.config) return loaded.exit;
  const timeoutMs = Number(args.values['timeout-ms'] ?? 15_000);
  const json = args.values.json === true;
  const rt = createRuntime(silentLogger(), { metrics: createMetricsRegistry({ defaultMetrics: false }) });
  const color = !json && io.stdout.isTTY === true;
  const firstByCause = new Map<string, string>();
  const lines: CheckLine[] = [];
  for (const c of configChecks(loaded.config, rt)) {
    let r: CheckResult;
    try {
      r = await c.run(AbortSignal.timeout(timeoutMs));
    } catch (e) {
      r = { ok: false, detail: (e as Error).message };
    }
    const line: CheckLine = { component: c.component, name: c.name, ...r };
    if (!r.ok && r.cause) {
      const first = firstByCause.get(r.cause);
      if (first) line.causedBy = first;
      else firstByCause.set(r.cause, `${c.component} ${c.name}`);
    }
    lines.push(line);
    if (!json) for (const l of render(line, color)) write(io.stdout, l);
  }
  const failures = lines.filter((l) => !l.ok && !l.causedBy).length;
  const summary =
    failures === 0
      ? 'all checks passed'
      : `${failures} problem(s) to fix${failures === 1 ? '' : ', each with its fix'}`;
  if (json) write(io.stdout, JSON.stringify({ ok: failures === 0, problems: failures, checks: lines }, null, 2));
  else write(io.stdout, summary);
  return failures === 0 ? EXIT.ok : EXIT.failed;
};
