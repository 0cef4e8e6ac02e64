import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Registry } from 'prom-client';
import type { RequestHandler } from '../../../src/appliance/channel/appliance-link.js';
import { SiteLink } from '../../../src/appliance/channel/site-link.js';
import { systemClock, type Clock } from '../../../src/platform/clock.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import type { Op, OpParams, OpResults, RequestContext } from '../../../src/protocol/ecm-protocol.js';
import { siteSchema, type SiteConfig } from '../../../src/appliance/site-config.js';
import { createLogger, type Logger } from '../../../src/platform/logger.js';
import { withSecretEnv } from '../../../src/platform/config/secret-ref.js';
import type { SimAccountInput } from '../../../src/simulators/appliance/sim-accounts.js';

export const ECM_ACCOUNT: SimAccountInput = {
  clientId: 'ecm-client',
  clientSecret: 'ecm-secret-value-123',
  permissions: { ecm: true, reporting: false, command: 'read_only' },
};
export const REPORTING_ACCOUNT: SimAccountInput = {
  clientId: 'rep-client',
  clientSecret: 'rep-secret-value-456',
  permissions: { ecm: false, reporting: true, command: 'deny' },
};

export function writeCa(pem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecm-sim-ca-'));
  const file = join(dir, 'ca.pem');
  writeFileSync(file, pem);
  return file;
}

export function siteConfig(
  url: string,
  caFile: string | undefined,
  extra: Partial<Record<string, unknown>> = {},
  account = ECM_ACCOUNT,
): SiteConfig {
  const env = {
    env: { SIM_SECRET: account.clientSecret as string },
    allowLiterals: false,
    readFile: () => '',
    baseDir: '.',
  };
  return withSecretEnv(env, () =>
    siteSchema.parse({
      name: 'sim',
      url,
      ...(caFile ? { caFile } : {}),
      ecm: { clientId: account.clientId, clientSecret: 'env:SIM_SECRET', maxConcurrentRequests: 4 },
      timeouts: { connectMs: 2000, requestMs: 3000 },
      ...extra,
    }),
  );
}

/** A RequestHandler that answers from a function, counting calls. */
export class ScriptedHandler implements RequestHandler {
  calls: { op: Op; context: RequestContext; params: unknown }[] = [];
  constructor(
    private readonly answer: (op: Op, params: unknown, signal: AbortSignal) => Promise<unknown> = async (op) =>
      defaultResult(op),
  ) {}
  async handle<O extends Op>(
    op: O,
    context: RequestContext,
    params: OpParams[O],
    signal: AbortSignal,
  ): Promise<OpResults[O]> {
    this.calls.push({ op, context, params });
    return (await this.answer(op, params, signal)) as OpResults[O];
  }
}

export function defaultResult(op: Op): unknown {
  switch (op) {
    case 'credentials.list':
      return {
        credentials: [
          {
            id: 'c1',
            displayName: 'Administrator on web01',
            username: 'Administrator',
            kind: 'password',
            source: 'local',
          },
        ],
      };
    case 'credentials.get':
      return {
        credential: {
          id: 'c1',
          username: 'Administrator',
          password: 'S3cr3t-P@ss',
          leaseId: 'l1',
          expiresAt: '2026-01-01T00:30:00Z',
        },
      };
    case 'credentials.release':
      return { released: true };
    case 'jump.search':
      return { items: [] };
  }
}

/** A logger whose JSON lines are kept, to assert that no secret ever reaches a log. */
export function capturedLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug' }, stream), lines };
}

export { until } from '../../helpers/until.js';

export const USER = {
  user: { username: 'CORP\\jdoe', displayName: 'Jane Doe' },
  endpoint: { hostname: 'web01', ip: '10.0.4.17:3389' },
};

export interface StartedLink {
  link: SiteLink;
  readiness: Readiness;
  metrics: Registry;
  lines: string[];
}

/** A site link to `url` with short backoff (tests must not wait for real 1-60 s delays). */
export async function startLink(
  url: string,
  caFile: string | undefined,
  handler: RequestHandler,
  opts: {
    instanceId?: string;
    clock?: Clock;
    extra?: Partial<Record<string, unknown>>;
    account?: SimAccountInput;
    backoff?: { baseMs: number; capMs: number };
    followMs?: number;
    stallMs?: number;
  } = {},
): Promise<StartedLink> {
  const { log, lines } = capturedLogger();
  const readiness = new Readiness();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const link = new SiteLink(siteConfig(url, caFile, opts.extra, opts.account), {
    log,
    metrics,
    readiness,
    clock: opts.clock ?? systemClock,
    instanceId: opts.instanceId ?? 'replica-a',
    backoff: opts.backoff ?? { baseMs: 20, capMs: 200 },
    random: () => 0.5,
    ...(opts.followMs ? { followMs: opts.followMs } : {}),
    ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
  });
  await link.start(handler);
  return { link, readiness, metrics, lines };
}

/** The value of one sample in Prometheus text output (0 when absent). */
export async function sample(metrics: Registry, line: string): Promise<number> {
  const text = await metrics.metrics();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found ? Number(found.slice(line.length + 1)) : 0;
}
