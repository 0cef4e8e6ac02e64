import { MAX_SECRET_FILE_BYTES, readBoundedFile } from '../bounded-file.js';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { Secret } from '../secret.js';
import { readCaBundle } from '../ca-bundle.js';
import { resolveConfigPath } from './config-path.js';

/**
 * How secrets are written in YAML: `env:NAME`, `file:/path`, or (demo only, with
 * `allowLiteralSecrets: true`) a literal. The schema resolves them while validating, so a missing
 * variable is reported together with every other problem of the file.
 */
export interface SecretEnv {
  env: Record<string, string | undefined>;
  allowLiterals: boolean;
  readFile: (path: string) => string;
  /** Relative `file:` references resolve against this directory (the config file's). */
  baseDir: string;
}

const defaultEnv: SecretEnv = { env: {}, allowLiterals: false, readFile: readSecretFile, baseDir: '.' };

/** A `file:` secret: a regular file of at most 64 KiB (never a FIFO or a device). */
export function readSecretFile(path: string): string {
  return readBoundedFile(path, MAX_SECRET_FILE_BYTES);
}
let current: SecretEnv = defaultEnv;

/**
 * Runs a synchronous schema parse with `ctx` as the place secrets resolve from. Parsing is
 * synchronous, so no other parse can observe this context.
 */
export function withSecretEnv<T>(ctx: SecretEnv, parse: () => T): T {
  const previous = current;
  current = ctx;
  try {
    return parse();
  } finally {
    current = previous;
  }
}

/** Resolves one reference; returns the problem as text (never containing the value) on failure. */
export function resolveSecretRef(raw: string, ctx: SecretEnv): Secret | string {
  if (raw.startsWith('env:')) {
    const name = raw.slice(4);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `"${raw}" is not a valid environment variable reference`;
    const v = ctx.env[name];
    if (v === undefined || v === '') return `environment variable ${name} is not set`;
    return new Secret(v, raw);
  }
  if (raw.startsWith('file:')) {
    const given = raw.slice(5);
    const path = isAbsolute(given) ? given : resolve(ctx.baseDir, given);
    try {
      // Files written by `echo` end with a newline that is not part of the secret.
      const v = ctx.readFile(path).replace(/\r?\n$/, '');
      if (v === '') return `secret file ${given} is empty`;
      return new Secret(v, raw);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTREG') return `secret file ${given} is not a regular file (a FIFO or device is never read)`;
      if (code === 'EFBIG') return `secret file ${given} is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB`;
      return `secret file ${given} cannot be read (${code ?? 'unreadable'})`;
    }
  }
  if (!ctx.allowLiterals) {
    return 'literal secrets are not allowed: use env:NAME or file:/path (or allowLiteralSecrets: true for a demo)';
  }
  return new Secret(raw, 'literal');
}

/**
 * A file or directory path. Relative paths written in the file resolve against the config
 * file's directory (like `file:` secrets), so a config works whatever the working directory;
 * `memory://` passes through. Defaults of the schema are not paths written in the file and stay
 * relative to the working directory.
 */
export const configPath = z
  .string()
  .min(1)
  .transform((p) => resolveConfigPath(p, current.baseDir));

/**
 * A `caFile`: a config path whose file must be readable and hold at least one parseable PEM
 * certificate, checked while the file is validated, so `config validate` names the field and
 * the file instead of `serve` failing later when the first connection is built.
 */
export const caFilePath = configPath.transform((path, ctx) => {
  try {
    readCaBundle(path);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message, input: path });
    return z.NEVER;
  }
  return path;
});

export const secretRef = z
  .string()
  .min(1, 'a secret reference must not be empty')
  .transform((raw, ctx): Secret => {
    const r = resolveSecretRef(raw, current);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r, input: '[REDACTED]' });
      return z.NEVER;
    }
    return r;
  });
