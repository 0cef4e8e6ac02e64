import { createRuntime } from '../app/runtime.js';
import { silentLogger } from '../platform/logger.js';
import { createMetricsRegistry } from '../platform/metrics.js';
import type { CheckResult } from '../app/check.js';
import { configChecks } from '../app/checks.js';
import { EXIT, write, type Command } from './command.js';
import { loadOrReport, usage } from './config-commands.js';

export const check: Command = {
  path: ['check'],
  summary: 'Verify every configured connection (sites, vault, store) and print what to fix',
  usage: 'ecm-bridge check --config FILE [--timeout-ms N]',
  examples: ['ecm-bridge check --config /etc/ecm-bridge/config.yaml'],
  options: { config: { type: 'string', short: 'c' }, 'timeout-ms': { type: 'string' } },
  async run(args, io) {
    const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
    if (!file) return usage(io, this.usage);
    const loaded = loadOrReport(file, io);
    if (!loaded.config) return loaded.exit;
    const timeoutMs = Number(args.values['timeout-ms'] ?? 15_000);
    const rt = createRuntime(silentLogger(), { metrics: createMetricsRegistry({ defaultMetrics: false }) });
    const color = io.stdout.isTTY === true;
    const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
    const mark = (r: CheckResult) => (!r.ok ? paint(31, 'FAIL') : r.warning ? paint(33, 'WARN') : paint(32, 'OK  '));
    let failures = 0;
    for (const c of configChecks(loaded.config, rt)) {
      let r: CheckResult;
      try {
        r = await c.run(AbortSignal.timeout(timeoutMs));
      } catch (e) {
        r = { ok: false, detail: (e as Error).message };
      }
      if (!r.ok) failures++;
      write(io.stdout, `${mark(r)} ${c.component.padEnd(20)} ${c.name.padEnd(28)} ${r.detail}`);
      if ((!r.ok || r.warning) && r.fix) write(io.stdout, `     ${''.padEnd(20)} ${''.padEnd(28)} fix: ${r.fix}`);
    }
    write(io.stdout, failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
    return failures === 0 ? EXIT.ok : EXIT.failed;
  },
};
