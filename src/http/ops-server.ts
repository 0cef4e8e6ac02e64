import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HttpConfig } from './http-config.js';
import type { Component } from '../platform/lifecycle.js';
import type { Readiness } from '../platform/readiness.js';

export interface OpsServerDeps {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Extra routes (admin/broker), registered after the ops routes and behind the same auth. */
  routes?: (app: FastifyInstance) => void;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * /healthz (process alive, never authenticated), /readyz (per component), /metrics (Prometheus).
 * Listens on 127.0.0.1 by default; with `auth.token` every route but /healthz needs the bearer.
 */
export class OpsServer implements Component {
  readonly name = 'ops-server';
  #app: FastifyInstance | undefined;

  constructor(
    private readonly config: HttpConfig,
    private readonly deps: OpsServerDeps,
  ) {}

  /** The bound address (port 0 in tests gets a free port). */
  get address(): { host: string; port: number } {
    const a = this.#app?.server.address();
    if (!a || typeof a === 'string') throw new Error('ops server is not listening');
    return { host: a.address, port: a.port };
  }

  async start(): Promise<void> {
    // Loaded on start: commands that build the units without serving (help, check) never pay for it.
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ logger: false, bodyLimit: 64 * 1024, return503OnClosing: true });
    const token = this.config.auth?.token;
    if (token) {
      const expected = digest(`Bearer ${token.reveal()}`);
      app.addHook('onRequest', async (req, reply) => {
        if (req.url === '/healthz') return;
        const got = digest(req.headers.authorization ?? '');
        if (!timingSafeEqual(got, expected)) {
          await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
        }
      });
    }
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const report = await this.deps.readiness.report();
      return reply.code(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not ready', ...report });
    });
    app.get('/metrics', async (_req, reply) => {
      const body = await this.deps.metrics.metrics();
      return reply.header('content-type', this.deps.metrics.contentType).send(body);
    });
    this.deps.routes?.(app);
    await app.listen({ host: this.config.host, port: this.config.port });
    this.#app = app;
    this.deps.log.info({ address: this.address }, 'ops server listening');
  }

  async stop(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }
}
