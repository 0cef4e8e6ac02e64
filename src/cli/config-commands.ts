import { ConfigError, formatProblem, type LoadOptions } from '../platform/config/loader.js';
import { loadConfigFile } from '../app/config-schema.js';
import { renderEffectiveConfig } from '../platform/config/print.js';
import { EXIT, write, type CliIo, type Command } from './command.js';

/** Loads FILE for a command; on failure prints every problem and returns the exit code. */
export function loadOrReport(file: string, io: CliIo, options: Pick<LoadOptions, 'ignoreSections'> = {}) {
  try {
    return { config: loadConfigFile(file, { env: io.env, ...options }) };
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) write(io.stderr, formatProblem(file, p));
      write(io.stderr, `${file}: ${e.problems.length} problem(s) found`);
      return { exit: EXIT.config };
    }
    throw e;
  }
}

export const configValidate: Command = {
  path: ['config', 'validate'],
  summary: 'Validate a configuration file; list every problem with path and line',
  usage: 'ecm-bridge config validate FILE',
  examples: ['ecm-bridge config validate /etc/ecm-bridge/config.yaml'],
  async run(args, io) {
    const file = args.positionals[0];
    if (!file) return usage(io, this.usage);
    const r = loadOrReport(file, io);
    if (!r.config) return r.exit;
    write(io.stdout, `${file}: OK (${r.config.sites.length} site(s), store ${r.config.store.kind})`);
    return EXIT.ok;
  },
};

export const configPrint: Command = {
  path: ['config', 'print'],
  summary: 'Print the effective configuration (defaults applied, secrets redacted)',
  usage: 'ecm-bridge config print FILE',
  examples: ['ecm-bridge config print config/demo.yaml'],
  async run(args, io) {
    const file = args.positionals[0];
    if (!file) return usage(io, this.usage);
    const r = loadOrReport(file, io);
    if (!r.config) return r.exit;
    io.stdout.write(renderEffectiveConfig(r.config));
    return EXIT.ok;
  },
};

export function usage(io: CliIo, text: string): number {
  write(io.stderr, `usage: ${text}`);
  return EXIT.usage;
}
