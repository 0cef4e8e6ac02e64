import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { REDACTED_TEXT } from './secret.js';
import { leaseIdPrefix } from './lease-id-prefix.js';

export type { Logger } from 'pino';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * Keys whose values are secrets wherever they appear. pino's redaction is path-based, so each
 * key is listed at the depths our log objects use (top level and up to three levels down).
 * This is the second layer: the first is the Secret type; the third is `scrubLine` below.
 */
const SECRET_KEYS = [
  'password',
  'pwd',
  'passphrase',
  'privateKey',
  'private_key',
  'secret',
  'clientSecret',
  'client_secret',
  'apiKey',
  'api_key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'credential',
];

export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith('[') ? '' : '.';
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `*.*.*${dot}${key}`];
});

/**
 * Last line of defence on the serialised line: secrets that reached a log as free text (an error
 * message quoting a header, a URL with a token). Patterns are anchored on their syntax, not on
 * known values, so they also catch secrets this process never saw.
 */
const LINE_SCRUBBERS: [RegExp, string][] = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED_TEXT],
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(\\n|[^"])*/g, REDACTED_TEXT],
  [/(PS-Auth\s+)[^"\r\n]*/gi, `$1${REDACTED_TEXT}`],
  // JSON Web Tokens are recognisable by shape even without a "Bearer" prefix. The lookbehind
  // lets a match start only where a run of token characters starts: with \b, every `-eyJ` inside
  // one long run was a new start scanning to the run's end (quadratic on `-eyJ-eyJ...`).
  [/(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, REDACTED_TEXT],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED_TEXT}`],
  [/\b(key|pwd|password|client_secret|access_token|secret)=([^;&\s"\\]+)/gi, `$1=${REDACTED_TEXT}`],
];

export function scrubLine(line: string): string {
  let out = line;
  for (const [re, replacement] of LINE_SCRUBBERS) out = out.replace(re, replacement);
  return out;
}

export type LogFormat = 'json' | 'pretty';

export interface LoggerConfig {
  level: LogLevel;
  name?: string;
  /** `json` (one object a line, for collectors) or `pretty` (for people); unset: pretty on a terminal. */
  format?: LogFormat | undefined;
}

/** The format when the config names none: pretty for a person at a terminal, JSON for everything else. */
export function defaultLogFormat(destination: { isTTY?: boolean }): LogFormat {
  return destination.isTTY === true ? 'pretty' : 'json';
}

/**
 * Turns a (scrubbed) JSON line into pino-pretty's text. Loaded on first use only, so a JSON logger
 * (every service under systemd) never loads the library; `require` keeps `createLogger` synchronous.
 */
function prettyLines(colorize: boolean): (line: string) => string {
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    // One line per record for a person reading a terminal: the fields as one JSON object, an error
    // by its message and code (its stack and cause chain stay in the JSON format).
    singleLine: true,
    errorLikeObjectKeys: [],
    ignore: 'pid,hostname,name,err.stack,err.cause,err.type',
  });
}

export function createLogger(config: LoggerConfig, destination?: DestinationStream): Logger {
  const target = destination ?? process.stdout;
  const format = config.format ?? defaultLogFormat(target as { isTTY?: boolean });
  const pretty = format === 'pretty' ? prettyLines((target as { isTTY?: boolean }).isTTY === true) : undefined;
  const options: LoggerOptions = {
    level: config.level,
    base: { name: config.name ?? 'ecm-bridge' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: REDACTED_TEXT },
    // `leaseId` at the top of a line is shortened whoever logs it (call sites shorten it too).
    serializers: { err: pino.stdSerializers.errWithCause, leaseId: leaseIdPrefix },
    formatters: { level: (label) => ({ level: label }) },
    // Scrubbed as JSON first, whatever the format: the pretty text is made from the scrubbed line.
    hooks: { streamWrite: pretty ? (line) => pretty(scrubLine(line)) : scrubLine },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that drops everything, for unit tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
