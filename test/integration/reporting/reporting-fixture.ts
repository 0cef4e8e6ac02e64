import { createServer, type Server } from 'node:https';
import { Writable } from 'node:stream';
import type { AccessTokenProvider } from '../../../src/appliance/api/access-token.js';
import { ManualClock, type Clock } from '../../../src/platform/clock.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import type { Config } from '../../../src/app/config-schema.js';
import { createHttpAgent } from '../../../src/platform/http-agent.js';
import { createLogger, type Logger } from '../../../src/platform/logger.js';
import type { Registry } from '../../../src/platform/metrics.js';
import { ReportClient } from '../../../src/reporting/report-client.js';
import type { ReportSourceFactory } from '../../../src/reporting/report-source.js';
import { Secret } from '../../../src/platform/secret.js';
import {
  ReportingSimulator,
  type ReportingSimulatorOptions,
} from '../../../src/simulators/appliance/reporting/reporting-simulator.js';
import {
  SessionGenerator,
  type SessionGeneratorOptions,
} from '../../../src/simulators/appliance/reporting/session-generator.js';
import { generateSimTls } from '../../../src/simulators/appliance/sim-tls.js';
import { writeCa } from '../appliance/harness.js';

export const T0 = Date.UTC(2026, 0, 1);
export const HOST = '127.0.0.1';

/**
 * A token provider over a fixed list of tokens: `invalidate` moves to the next one (a re-mint).
 * Counts calls so tests can check the one-re-mint rule.
 */
export class ListTokens implements AccessTokenProvider {
  invalidations = 0;
  #i = 0;
  constructor(private readonly values: string[]) {}
  async token() {
    return new Secret(this.values[Math.min(this.#i, this.values.length - 1)]!);
  }
  invalidate() {
    this.invalidations++;
    this.#i++;
  }
}

/**
 * The reporting simulator on its own HTTPS server (the bridge accepts https: remotes only),
 * behind a bearer check like the appliance's.
 */
export async function startReportingServer(
  sim: ReportingSimulator,
  validToken: string,
): Promise<{ url: string; caPem: string; caFile: string; server: Server; close(): Promise<void> }> {
  const tls = await generateSimTls();
  const server = createServer({ key: tls.key, cert: tls.cert }, async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/api/reporting') return void res.writeHead(404).end();
    if (req.headers.authorization !== `Bearer ${validToken}`) {
      return void res
        .writeHead(401, { 'content-type': 'application/json' })
        .end('{"message":"Access token is invalid"}');
    }
    await sim.handle(req, res, Buffer.concat(chunks));
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://${HOST}:${port}`,
    caPem: tls.caPem,
    caFile: writeCa(tls.caPem),
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface Scenario {
  clock: ManualClock;
  generator: SessionGenerator;
  sim: ReportingSimulator;
  url: string;
  /** The server's certificate (its own CA), for clients' `ca` and the site's `caFile`. */
  caPem: string;
  caFile: string;
  close(): Promise<void>;
}

/** A generator of `count` sessions one minute apart from T0, served at the clock's "now". */
export async function scenario(
  count: number,
  options: Partial<Omit<ReportingSimulatorOptions, 'now' | 'generator'>> & {
    product?: 'pra' | 'rs';
    at?: number;
    lateClose?: SessionGeneratorOptions['lateClose'];
  } = {},
): Promise<Scenario> {
  const { product = 'pra', at, lateClose, ...simOptions } = options;
  const clock = new ManualClock(at ?? T0 + count * 60_000 + 30 * 60_000);
  const generator = new SessionGenerator({
    seed: 42,
    count,
    hostName: HOST,
    product,
    firstStartMs: T0,
    spacingMs: 60_000,
    ...(lateClose ? { lateClose } : {}),
  });
  const sim = new ReportingSimulator({ ...simOptions, generator, now: () => clock.now() });
  const server = await startReportingServer(sim, 'good-token');
  return { clock, generator, sim, url: server.url, caPem: server.caPem, caFile: server.caFile, close: server.close };
}

/** A config with one site at `url` (trusting `caFile`); `reporting` overrides are merged into the YAML. */
export function siteConfig(
  url: string,
  caFile: string,
  reporting: Record<string, unknown> = {},
  product: 'pra' | 'rs' = 'pra',
): Config {
  const yaml = [
    'allowLiteralSecrets: true',
    'sites:',
    '  - name: corp-pra',
    `    url: ${url}`,
    `    caFile: ${caFile}`,
    `    product: ${product}`,
    '    reporting: { clientId: reporter, clientSecret: s3cret-reporting }',
    `reporting: ${JSON.stringify({ initialLookbackHours: 24, overlapMinutes: 15, sliceMinutes: 360, batchSize: 100, ...reporting })}`,
  ].join('\n');
  return parseConfigText(yaml, 'test.yaml', { env: {} });
}

/** A clock whose sleeps return at once (recording the delays): backoff without waiting. */
export function instantClock(base: ManualClock, delays: number[] = []): Clock & { delays: number[] } {
  return { delays, now: () => base.now(), sleep: async (ms: number) => void delays.push(ms) };
}

/** A pino logger writing into an array of lines, for assertions on log content. */
export function capturedLogger(level: 'debug' | 'info' = 'debug') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level }, stream as never), lines };
}

/** Reporting API clients whose token provider hands out `tokens` (instead of minting with OAuth). */
export function listTokenSources(
  deps: { clock: Clock; log: Logger; metrics: Registry },
  tokens: string[] = ['good-token'],
): ReportSourceFactory {
  return (site, reporting) => {
    const agent = createHttpAgent({
      connectTimeoutMs: site.timeouts.connectMs,
      requestTimeoutMs: site.timeouts.requestMs,
      connections: 1,
      ...(site.caFile ? { caFile: site.caFile } : {}),
    });
    const source = new ReportClient({
      site: { name: site.name, url: site.url, product: site.product },
      tokens: new ListTokens(tokens),
      dispatcher: agent,
      clock: deps.clock,
      retries: reporting.retries,
      log: deps.log,
      metrics: deps.metrics,
    });
    return { source, close: () => agent.close() };
  };
}
