import { ConfigError, formatProblem, type LoadOptions } from '../platform/config/loader.js';
import { loadConfigFile } from '../app/config-schema.js';
import { renderEffectiveConfig } from '../platform/config/print.js';
import { EXIT, usage, write, type CliIo, type CommandRun } from './command.js';

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

export const runConfigValidate: CommandRun = async (args, io, command) => {
  const file = args.positionals[0];
  if (!file) return usage(io, command.usage);
  const r = loadOrReport(file, io);
  if (!r.config) return r.exit;
  write(io.stdout, `${file}: OK (${r.config.sites.length} site(s), store ${r.config.store.kind})`);
  return EXIT.ok;
};

export const runConfigPrint: CommandRun = async (args, io, command) => {
  const file = args.positionals[0];
  if (!file) return usage(io, command.usage);
  const r = loadOrReport(file, io);
  if (!r.config) return r.exit;
  io.stdout.write(renderEffectiveConfig(r.config));
  return EXIT.ok;
};
