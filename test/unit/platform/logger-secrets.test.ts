import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/platform/errors.js';
import { Secret } from '../../../src/platform/secret.js';
import { createLogger, defaultLogFormat } from '../../../src/platform/logger.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { captureLogger } from '../../helpers/log-capture.js';

const PASSWORD = 'Pa55w0rd-very-secret';
const BEARER = 'eyJhbGciOiJSUzI1NiJ9.bearer-token-value.sig';
const CLIENT_SECRET = 'oauth-client-secret-9f8e7d';
const API_KEY = 'c479a66f-ps-api-key-0123456789abcdef';
const PRIVATE_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAAAAAAAEAAAAzAAAAC3NzaC1lZDI1\n-----END OPENSSH PRIVATE KEY-----';
const PS_AUTH = `PS-Auth key=${API_KEY}; runas=CORP\\jdoe; pwd=[${PASSWORD}];`;
const ALL = [PASSWORD, BEARER, CLIENT_SECRET, API_KEY, 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmU'];

function assertClean(text: string) {
  for (const s of ALL) expect(text, `leaked ${s.slice(0, 8)}...`).not.toContain(s);
}

describe('Secret', () => {
  it('renders [REDACTED] in strings, JSON and inspect', () => {
    const s = new Secret(PASSWORD, 'env:X');
    expect(`${s}`).toBe('[REDACTED]');
    expect(String(s)).toBe('[REDACTED]');
    expect(JSON.stringify({ s })).toBe('{"s":"[REDACTED]"}');
    expect(inspect({ s })).toContain('Secret([REDACTED])');
    expect(inspect(s, { showHidden: true, depth: 5 })).not.toContain(PASSWORD);
    expect(s.reveal()).toBe(PASSWORD);
    expect(s.equals(new Secret(PASSWORD))).toBe(true);
    expect(s.equals(new Secret('other'))).toBe(false);
  });
});

describe.each(['json', 'pretty'] as const)('logger redaction (%s)', (format) => {
  it('keeps every kind of secret out of every logger path', () => {
    const { log, text, lines } = captureLogger('trace', format);
    // Structured fields at several depths, under the usual key names.
    log.info({ password: PASSWORD, token: BEARER, client_secret: CLIENT_SECRET, privateKey: PRIVATE_KEY }, 'top level');
    log.info(
      { request: { headers: { authorization: `Bearer ${BEARER}` }, body: { clientSecret: CLIENT_SECRET } } },
      'nested',
    );
    log.info({ vault: { session: { auth: { Authorization: PS_AUTH } } } }, 'deep');
    log.warn({ credential: { password: PASSWORD, passphrase: PASSWORD } }, 'credential object');
    // Secret values anywhere.
    log.info({ anything: new Secret(PASSWORD), list: [new Secret(API_KEY)] }, 'secret objects');
    // Free text: interpolation, message strings quoting headers, keys, form bodies.
    log.info('sending %s to vault', PS_AUTH);
    log.info(`header was Authorization: Bearer ${BEARER}`);
    log.info(`form body grant_type=client_credentials&client_secret=${CLIENT_SECRET}`);
    log.info(`key material ${PRIVATE_KEY}`);
    // Errors: message, cause chain, custom properties.
    const cause = new Error(`upstream said: ${PS_AUTH}`);
    const err = new ServiceError('vault.auth_failed', 'sign-in refused', { cause, details: { apiKey: API_KEY } });
    log.error({ err }, 'vault error');
    log.error(new Error(`token ${BEARER} rejected`));
    // Child loggers carry bindings on every line.
    const child = log.child({ site: 'corp', password: PASSWORD, auth: { token: BEARER } });
    child.info({ secret: CLIENT_SECRET }, 'from child');
    const out = text();
    expect(lines.length).toBe(12);
    assertClean(out);
    expect(out).toContain('[REDACTED]');
    if (format === 'pretty') {
      // Readable text, not JSON lines: the level and message lead each record, its fields follow on the same line.
      expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: top level( \{.*\})?\n$/);
      for (const line of lines) expect(line.trimEnd()).not.toContain('\n');
      expect(out).not.toContain('"level":');
    }
  });
});

describe('logger format', () => {
  it('the config file names the format', () => {
    const config = parseConfigText('log: { level: info, format: pretty }\n', 'log.yaml');
    const lines: string[] = [];
    const stream = new Writable({
      write(c, _e, cb) {
        lines.push(String(c));
        cb();
      },
    });
    // A stream that is no terminal: without the config's word the line would be JSON.
    createLogger(config.log, stream).info('started');
    expect(lines).toEqual([expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: started\n$/)]);
    expect(() => parseConfigText('log: { format: text }\n', 'log.yaml')).toThrow(/log\.format/);
  });

  it('is pretty on a terminal and JSON otherwise, unless the config names one', () => {
    expect(defaultLogFormat({ isTTY: true })).toBe('pretty');
    expect(defaultLogFormat({})).toBe('json');
    const { log, text } = captureLogger('info', 'pretty');
    log.info({ site: 'corp-pra' }, 'checkout');
    expect(text()).toMatch(/INFO: checkout \{"site":"corp-pra"\}\n$/);
  });

  it('pretty: one line per record, an error by its message and code without its stack', () => {
    const { log, text } = captureLogger('info', 'pretty');
    log.warn(
      { leaseId: 'l-1', err: new ServiceError('vault.unavailable', 'Password Safe is unreachable') },
      'check-in failed; will retry',
    );
    const out = text();
    expect(out.split('\n').filter(Boolean)).toHaveLength(1);
    expect(out).toMatch(
      /WARN: check-in failed; will retry \{"leaseId":"l-1","err":\{.*"message":"Password Safe is unreachable"/,
    );
    expect(out).toContain('"code":"vault.unavailable"');
    expect(out).not.toContain(' at ');
  });
});

describe('logger redaction', () => {
  it('still logs the non-secret context', () => {
    const { log, text } = captureLogger();
    log.info({ site: 'corp-pra', user: 'CORP\\jdoe', password: PASSWORD }, 'checkout');
    const line = JSON.parse(text());
    expect(line.site).toBe('corp-pra');
    expect(line.user).toBe('CORP\\jdoe');
    expect(line.password).toBe('[REDACTED]');
    expect(line.msg).toBe('checkout');
  });
});
