import { execFileSync } from 'node:child_process';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RequestHandler } from '../../src/appliance/channel/appliance-link.js';
import { LinkMetrics } from '../../src/appliance/channel/link-metrics.js';
import { RequestDispatcher } from '../../src/appliance/channel/request-dispatcher.js';
import { runCli } from '../../src/main.js';
import { systemClock } from '../../src/platform/clock.js';
import { loadConfigFile, parseConfigText } from '../../src/app/config-schema.js';
import { ConfigError } from '../../src/platform/config/loader.js';
import { isServiceError } from '../../src/platform/errors.js';
import { createHttpAgent } from '../../src/platform/http-agent.js';
import { describeTlsFailure } from '../../src/platform/http/transport-errors.js';
import { silentLogger } from '../../src/platform/logger.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { DataDirLock } from '../../src/store/pglite/data-dir-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'startup-'));

function configProblems(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfigText(text, 'c.yaml', { env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw new Error(`escaped as ${String(e)}`);
  }
  throw new Error('accepted');
}

async function cli(...argv: string[]) {
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await runCli(argv, { stdout: sink(() => undefined), stderr: sink((s) => (err += s)), env: {} });
  return { code, err };
}

describe('configuration and start-up refuse what would hang, crash or mislead', () => {
  it('a YAML alias bomb is config.unreadable, not an internal error with a stack', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
    ].join('\n');
    const e = configProblems(bomb);
    expect(e.code).toBe('config.unreadable');
    expect(e.problems[0]?.message).toMatch(/alias/i);
    const file = join(dir(), 'bomb.yaml');
    writeFileSync(file, bomb);
    const { code, err } = await cli('config', 'validate', file);
    expect(code).toBe(78);
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('a file: secret that is a FIFO or a device is refused at once; the config file too', () => {
    const d = dir();
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const yaml = (ref: string) =>
      [
        'vault:',
        '  kind: passwordsafe',
        '  url: https://vault.example.com/v3',
        `  auth: { method: apikey, apiKey: "${ref}" }`,
      ].join('\n');
    const messages = (ref: string) => configProblems(yaml(ref)).problems.map((p) => p.message);
    expect(messages(`file:${fifo}`)).toEqual([expect.stringContaining('is not a regular file')]);
    expect(messages('file:/dev/zero')).toEqual([expect.stringContaining('is not a regular file')]);
    const big = join(d, 'big');
    writeFileSync(big, 'k'.repeat(65 * 1024));
    expect(messages(`file:${big}`)).toEqual([expect.stringContaining('is larger than 64 KiB')]);
    const e = (() => {
      try {
        loadConfigFile(fifo, { env: {} });
      } catch (x) {
        return x as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(e.problems[0]?.message).toMatch(/ENOTREG/);
  });

  it('a caFile that holds no PEM certificate is refused when the agent is built', () => {
    const file = join(dir(), 'ca.pem');
    writeFileSync(file, 'this is not a certificate\n');
    let error: unknown;
    try {
      createHttpAgent({ connectTimeoutMs: 1000, requestTimeoutMs: 1000, caFile: file });
    } catch (e) {
      error = e;
    }
    expect(isServiceError(error, 'config.ca_unreadable')).toBe(true);
    expect((error as Error).message).toMatch(/holds no PEM certificate/);
  });

  it('TLS failures say what fixes them: caFile only for an unknown issuer', () => {
    const failure = (code: string) => describeTlsFailure(Object.assign(new Error('x'), { code }), 'vault.example.com')!;
    expect(failure('UNABLE_TO_VERIFY_LEAF_SIGNATURE')).toMatch(/add its CA to caFile/);
    expect(failure('ERR_TLS_CERT_ALTNAME_INVALID')).toMatch(/does not name this host/);
    expect(failure('ERR_TLS_CERT_ALTNAME_INVALID')).not.toMatch(/add its CA/);
    expect(failure('CERT_HAS_EXPIRED')).toMatch(/has expired; renew it/);
    expect(failure('CERT_NOT_YET_VALID')).toMatch(/not valid yet/);
  });

  it('usage errors exit 2, not 1', async () => {
    expect((await cli('sim', 'console', '--url', 'http://127.0.0.1:1', '--ca', '/nonexistent', '--status')).code).toBe(
      2,
    );
    expect((await cli('report', 'parse', join(dir(), 'missing.xml'))).code).toBe(2);
    // A port beyond 65535 (or one whose failover/Atlas neighbours would be) is usage, not a stack.
    for (const extra of [[], ['--failover'], ['--atlas']]) {
      const port = extra.length === 0 ? '70000' : '65535';
      const out = await cli('sim', 'appliance', '--accounts', join(dir(), 'a.json'), '--port', port, ...extra);
      expect(out.code, extra.join(' ')).toBe(2);
      expect(out.err).toContain('usage');
      expect(out.err).not.toMatch(/\n\s+at /);
    }
  });

  it('an empty lock file left by a crash does not block start-up for ever', async () => {
    const dataDir = join(dir(), 'pg');
    writeFileSync(`${dataDir}.lock`, '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(`${dataDir}.lock`, past, past);
    const lock = await DataDirLock.acquire(dataDir, 60_000, 10);
    lock.release();
  });

  it('a deadlineMs above 2^31-1 is capped, not a timer that fires at once', async () => {
    const frames: string[] = [];
    const handler: RequestHandler = {
      handle: () => new Promise((resolve) => setTimeout(() => resolve({ credentials: [] } as never), 20)),
    };
    const d = new RequestDispatcher(
      {
        site: 's',
        maxConcurrent: 1,
        maxQueued: 1,
        clock: systemClock,
        log: silentLogger(),
        metrics: new LinkMetrics(createMetricsRegistry({ defaultMetrics: false }), 's', systemClock),
      },
      () => handler,
    );
    const sink = { send: (f: string) => (frames.push(f), true) };
    d.accept(
      {
        type: 'request',
        id: 'r1',
        op: 'credentials.list',
        deadlineMs: 2 ** 31,
        context: { user: { username: 'u' } },
        params: {},
      },
      sink,
      1000,
    );
    await d.drain(5000);
    expect(frames.map((f) => JSON.parse(f) as { result?: unknown })).toEqual([
      { type: 'response', id: 'r1', result: { credentials: [] } },
    ]);
  });
});
