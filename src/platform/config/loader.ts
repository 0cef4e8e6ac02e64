import { MAX_CONFIG_FILE_BYTES, readBoundedFile } from '../bounded-file.js';
import { dirname } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ServiceError } from '../errors.js';
import { readSecretFile, withSecretEnv } from './secret-ref.js';
import { closest } from './suggest.js';

export interface ConfigProblem {
  /** YAML path, e.g. `sites[0].ecm.clientSecret`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export interface LoadOptions {
  env?: Record<string, string | undefined>;
  readFile?: (path: string) => string;
  /**
   * Top-level sections a command never uses, left out before validation so their secrets need not
   * be set (test-settings never contacts the appliance: it ignores `sites`).
   */
  ignoreSections?: readonly string[];
}

type PathPart = string | number;

export function formatPath(path: readonly PathPart[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out === '' ? '(root)' : out;
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line === undefined ? file : `${file}:${p.line}:${p.column ?? 1}`;
  return `${where}: ${p.path}: ${p.message}`;
}

/** The error thrown for any invalid configuration; `problems` lists every one found. */
export class ConfigError extends ServiceError {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
    code: 'config.invalid' | 'config.unreadable' = 'config.invalid',
  ) {
    super(
      code,
      `${file}: ${problems.length} configuration problem(s):\n` +
        problems.map((p) => '  ' + formatProblem(file, p)).join('\n'),
      {
        op: 'config.load',
        details: { file, problems },
      },
    );
  }
}

/** Reads and validates a YAML file against `schema` (the app's assembled config schema). */
export function loadYamlConfig<S extends z.ZodType>(schema: S, file: string, options: LoadOptions = {}): z.output<S> {
  let text: string;
  try {
    text = (options.readFile ?? ((p: string) => readBoundedFile(p, MAX_CONFIG_FILE_BYTES)))(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read file (${code})` }], 'config.unreadable');
  }
  return parseYamlConfig(schema, text, file, options);
}

/** Parses, validates and resolves a configuration; throws ConfigError listing every problem. */
export function parseYamlConfig<S extends z.ZodType>(
  schema: S,
  text: string,
  file: string,
  options: LoadOptions = {},
): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '(yaml)', line: pos.line, column: pos.col, message: e.message.split('\n')[0] ?? 'invalid YAML' };
      }),
      'config.unreadable',
    );
  }
  const locate = (path: readonly PathPart[], key?: string): { line?: number; column?: number } =>
    locatePath(doc, lines, path, key);

  if (doc.contents === null || (isMap(doc.contents) && doc.contents.items.length === 0))
    throw new ConfigError(file, [
      { path: '(file)', message: 'the file is empty: nothing to run (see config/ecm-bridge.example.yaml)' },
    ]);
  let raw: unknown;
  try {
    // yaml refuses more than 100 alias expansions (a "billion laughs" document) by throwing.
    raw = withoutSections(doc.toJS({ maxAliasCount: 100 }) ?? {}, options.ignoreSections ?? []);
  } catch (e) {
    throw new ConfigError(file, [{ path: '(yaml)', message: (e as Error).message.slice(0, 200) }], 'config.unreadable');
  }
  const allowLiterals =
    typeof raw === 'object' && raw !== null && (raw as Record<string, unknown>).allowLiteralSecrets === true;
  const parsed = withSecretEnv(
    {
      env: options.env ?? process.env,
      allowLiterals,
      readFile: options.readFile ?? readSecretFile,
      baseDir: dirname(file),
    },
    // reportInput: the reworded messages say what was found (see plainMessage).
    () => schema.safeParse(raw, { reportInput: true }),
  );
  if (!parsed.success) {
    throw new ConfigError(
      file,
      parsed.error.issues.flatMap((issue) => describeIssue(schema, issue, locate)),
    );
  }
  return parsed.data;
}

function describeIssue(
  schema: z.core.$ZodType,
  issue: z.core.$ZodIssue,
  locate: (p: readonly PathPart[], key?: string) => { line?: number; column?: number },
): ConfigProblem[] {
  const path = issue.path.filter((p): p is PathPart => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(schema, path);
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      return {
        path: formatPath([...path, key]),
        ...locate(path, key),
        message:
          `unknown key "${key}"` +
          (hint ? ` (did you mean "${hint}"?)` : known.length ? ` (expected one of: ${known.join(', ')})` : ''),
      };
    });
  }
  return [{ path: formatPath(path), ...locate(path), message: plainMessage(issue) }];
}

function withoutSections(raw: unknown, sections: readonly string[]): unknown {
  if (sections.length === 0 || typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  return Object.fromEntries(Object.entries(raw).filter(([k]) => !sections.includes(k)));
}

/**
 * What a YAML value is, in an administrator's words. The value itself is shown only where the
 * field cannot hold a secret (enumerations, numeric bounds); a wrong type shows its kind only.
 */
function kindOf(input: unknown, showValue: boolean): string {
  if (input === null || input === undefined) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a map';
  if (!showValue) return typeof input === 'string' ? 'text' : `a ${typeof input}`;
  if (typeof input === 'string') return `"${input.length > 40 ? input.slice(0, 40) + '...' : input}"`;
  return String(input);
}

const EXPECTED: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a text value',
  boolean: 'true or false',
  object: 'a map (key: value lines)',
  array: 'a list',
};

/**
 * zod's issue in the words of the YAML file ("must be a number, not the text "x""), instead of
 * zod's own ("Invalid input: expected number, received string"). Custom messages pass through.
 */
function plainMessage(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const want = EXPECTED[issue.expected] ?? issue.expected;
      return input === undefined ? `is required (${want})` : `must be ${want}, not ${kindOf(input, false)}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, not ${kindOf(input, true)}`;
    case 'too_small':
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters long`;
      if (issue.origin === 'array') return `must list at least ${issue.minimum} item(s)`;
      return `must be ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}, not ${kindOf(input, true)}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters long`;
      if (issue.origin === 'array') return `must list at most ${issue.maximum} item(s)`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}, not ${kindOf(input, true)}`;
    default:
      return issue.message.startsWith('Invalid input') ? `is not valid (${issue.message})` : issue.message;
  }
}

/** Line and column of a value (or of a key inside a map) in the YAML document, 1-based. */
function locatePath(
  doc: Document,
  lines: LineCounter,
  path: readonly PathPart[],
  key?: string,
): { line?: number; column?: number } {
  // Walk up the path until a node exists (a missing key is reported at its parent map).
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    const target =
      n === path.length && key !== undefined && isMap(node)
        ? node.items.find((it) => isScalar(it.key) && it.key.value === key)?.key
        : node;
    const range =
      (target as { range?: [number, number, number] } | undefined)?.range ??
      (n === 0 ? doc.contents?.range : undefined);
    if (range) {
      const pos = lines.linePos(range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}

/** Keys accepted by the object schema at `path`, looking through optional/default/array/union wrappers. */
function keysAt(schema: z.core.$ZodType, path: readonly PathPart[]): string[] {
  let nodes: z.core.$ZodType[] = [schema];
  const unwrap = (s: z.core.$ZodType): z.core.$ZodType[] => {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'default':
      case 'nullable':
      case 'prefault':
      case 'readonly':
      case 'catch':
        return unwrap(def.innerType as z.core.$ZodType);
      case 'pipe':
        return unwrap(def.in as z.core.$ZodType);
      case 'union':
        return (def.options as z.core.$ZodType[]).flatMap(unwrap);
      default:
        return [s];
    }
  };
  for (const part of path) {
    nodes = nodes.flatMap(unwrap).flatMap((s) => {
      const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
      if (typeof part === 'number' && def.type === 'array') return [def.element as z.core.$ZodType];
      if (typeof part === 'string' && def.type === 'object') {
        const child = (def.shape as Record<string, z.core.$ZodType>)[part];
        return child ? [child] : [];
      }
      if (typeof part === 'string' && def.type === 'record') return [def.valueType as z.core.$ZodType];
      return [];
    });
  }
  const keys = new Set<string>();
  for (const s of nodes.flatMap(unwrap)) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') for (const k of Object.keys(def.shape as object)) keys.add(k);
  }
  return [...keys];
}
