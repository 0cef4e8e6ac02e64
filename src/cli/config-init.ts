import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packagePath } from '../platform/package-path.js';
import { EXIT, usage, write, type CommandRun } from './command.js';

/** The starting file, shipped in deploy/ (a folder every release carries). */
const TEMPLATE = 'deploy/config.yaml';

/**
 * `ecm-bridge config init FILE [--force]`: writes a commented starting configuration (secret
 * references only, so mode 0644: the service's transient user reads it) and, unless it exists,
 * `secrets.env` beside it (mode 0600) with one empty `NAME=` line per secret the file references:
 * filled in, the file validates. Never overwrites FILE without --force, never secrets.env.
 */
export const runConfigInit: CommandRun = async (args, io, command) => {
  const file = args.positionals[0];
  if (!file) return usage(io, command.usage);
  const force = args.values.force === true;
  if (existsSync(file) && !force) {
    write(io.stderr, `${file} already exists; not overwritten (add --force to replace it)`);
    return EXIT.failed;
  }
  const text = readFileSync(packagePath(TEMPLATE), 'utf8');
  const names = [...new Set([...text.matchAll(/^[^#\n]*\benv:([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]!))];
  const secretsFile = join(dirname(file), 'secrets.env');
  const newSecrets = !existsSync(secretsFile);
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, text, { mode: 0o644, flag: force ? 'w' : 'wx' });
    if (newSecrets)
      writeFileSync(
        secretsFile,
        `# Secrets of ${file}, one NAME=value a line (systemd: EnvironmentFile). Keep mode 0600.\n${names.map((n) => `${n}=\n`).join('')}`,
        { mode: 0o600, flag: 'wx' },
      );
  } catch (e) {
    write(io.stderr, `cannot write ${file}: ${(e as Error).message}`);
    return EXIT.failed;
  }
  write(
    io.stdout,
    [
      `wrote ${file}`,
      newSecrets ? `wrote ${secretsFile} (mode 0600)` : `kept ${secretsFile} as it is`,
      'next:',
      `  1. replace the example.com values and client ids in ${file}`,
      `  2. fill in ${secretsFile}: ${names.join(', ')}`,
      `  3. set -a; . ${secretsFile}; set +a; ecm-bridge config validate ${file}`,
      `  4. ecm-bridge check --config ${file}`,
    ].join('\n'),
  );
  return EXIT.ok;
};
