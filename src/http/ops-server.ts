import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { HttpConfig } from './http-config.js';
import type { Component } from '../platform/lifecycle.js';
import { ServiceError } from '../platform/errors.js';
import type { Readiness } from '../platform/readiness.js';
import type { Secret } from '../platform/secret.js';
import { RequestGuard } from './request-guard.js';
import { isStatusShell, statusRoutes } from './status-routes.js';
import type { StatusSource } from './status-view.js';

export interface OpsServerDeps {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  /** Extra routes (admin/broker), registered after the ops routes and behind the same auth. */
  routes?: (app: FastifyInstance) => void;
  /** The data of the status page (/status); without it there is no page. */
  status?: StatusSource;
}

/** Hosts that only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Connection limits of the ops port; tests shorten them. */
export interface OpsServerLimits {
  /** A connection with no traffic for this long is closed. */
  idleMs: number;
  /** A request not complete (headers and body) within this long is answered 408 and closed. */
  requestMs: number;
}
export const OPS_SERVER_LIMITS: OpsServerLimits = { idleMs: 30_000, requestMs: 10_000 };

const LISTEN_ADVICE: Record<string, string> = {
  EADDRINUSE: 'another process already listens there; stop it or change http.port',
  EACCES: 'ports below 1024 need privileges; use a higher http.port',
  EADDRNOTAVAIL: 'http.host is not an address of this machine',
  ENOTFOUND: 'http.host does not resolve; use an IP address or a resolvable name',
  EAI_AGAIN: 'http.host could not be resolved right now (DNS); use an IP address',
};

/**
 * /healthz (process alive, never authenticated), /readyz (per component), /metrics (Prometheus).
 * Listens on 127.0.0.1 by default. Every route but /healthz checks the Host (DNS rebinding) and,
 * unless GET/HEAD, the Origin (CSRF) first (request-guard.ts). Two token scopes: `auth.token`
 * (monitoring: /readyz, /metrics) and `auth.statusToken` (the status page's data, Test Settings).
 * The page's shell (HTML, script, style: no data) loads without a bearer.
 */
export class OpsServer implements Component {
  readonly name = 'ops-server';
  #app: FastifyInstance | undefined;

  constructor(
    private readonly config: HttpConfig,
    private readonly deps: OpsServerDeps,
    private readonly limits: OpsServerLimits = OPS_SERVER_LIMITS,
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
    const app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024,
      return503OnClosing: true,
      // A client that sends nothing for this long, or takes longer for one request, is
      // disconnected: idle or trickling connections must not pile up on the ops port.
      connectionTimeout: this.limits.idleMs,
      requestTimeout: this.limits.requestMs,
      // The ops routes declare no JSON schemas; without compilers of its own, fastify would load
      // ajv and fast-json-stringify (about 110 modules) on every start, before /readyz can answer.
      schemaController: { compilersFactory: { buildValidator: noSchemas, buildSerializer: noSchemas } },
    });
    const page = this.#statusPage();
    const guard = new RequestGuard(this.config.host, this.config.publicNames ?? []);
    const monitoring = bearerCheck(this.config.auth?.token);
    const status = bearerCheck(this.config.auth?.statusToken);
    app.addHook('onRequest', async (req, reply) => {
      // The path without its query: `/healthz?x=1` is still the unauthenticated liveness probe,
      // answered whatever the Host (it tells nothing, and probes address pods by IP anyway).
      const path = req.url.split('?', 1)[0] ?? '';
      if (path === '/healthz') return;
      const refused = guard.hostProblem(req.headers.host);
      if (refused) return reply.code(421).send({ error: `misdirected request: ${refused}` });
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const crossSite = guard.originProblem(req.headers.origin, req.headers.host);
        if (crossSite) return reply.code(403).send({ error: crossSite });
      }
      // The status page's shell holds no data; the page then sends its token on its data requests.
      if (page && req.method === 'GET' && isStatusShell(req.url)) return;
      // Status data and Test Settings need the status scope; everything else the monitoring one.
      const check = page && path.startsWith('/status/') ? status : monitoring;
      if (check && !check(req.headers.authorization)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
      }
    });
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      const report = await this.deps.readiness.report();
      const status = report.ready ? 'ready' : report.degraded ? 'degraded' : 'not ready';
      return reply.code(report.ready ? 200 : 503).send({ status, ...report });
    });
    app.get('/metrics', async (_req, reply) => {
      const body = await this.deps.metrics.metrics();
      return reply.header('content-type', this.deps.metrics.contentType).send(body);
    });
    if (page) statusRoutes(page, this.deps.log)(app);
    this.deps.routes?.(app);
    try {
      await app.listen({ host: this.config.host, port: this.config.port });
    } catch (e) {
      await app.close().catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new ServiceError(
        'config.invalid',
        `the ops server cannot listen on ${this.config.host}:${this.config.port} (${code}): ${LISTEN_ADVICE[code] ?? 'check http.host and http.port'}`,
        { op: 'http.listen', cause: e, details: { host: this.config.host, port: this.config.port, code } },
      );
    }
    this.#app = app;
    this.deps.log.info({ address: this.address }, 'ops server listening');
  }

  /**
   * The status page is served with its own token, or without one only when the operator opted in
   * and the server listens on loopback; a monitoring token never opens it.
   */
  #statusPage(): StatusSource | undefined {
    const status = this.deps.status;
    if (!status) return undefined;
    if (this.config.auth?.statusToken) return status;
    const optedIn = this.config.statusPage?.openOnLoopback === true;
    if (optedIn && isLoopback(this.config.host)) return status;
    this.deps.log.warn(
      { host: this.config.host },
      optedIn
        ? 'status page disabled: http.statusPage.openOnLoopback is honoured only on a loopback http.host; set http.auth.statusToken'
        : 'status page disabled: set http.auth.statusToken (or, on a loopback http.host, http.statusPage.openOnLoopback: true)',
    );
    return undefined;
  }

  async stop(): Promise<void> {
    await this.#app?.close();
    this.#app = undefined;
  }
}

/** A constant-time bearer check of `token`, or undefined when no token is configured (the scope is open). */
function bearerCheck(token: Secret | undefined): ((header: string | undefined) => boolean) | undefined {
  if (!token) return undefined;
  const expected = digest(token.reveal());
  // The scheme is case-insensitive (RFC 9110), the token is not.
  return (header) => timingSafeEqual(digest(/^bearer +(\S+)$/i.exec(header ?? '')?.[1] ?? ''), expected);
}

/** The schema compiler of the ops server: its routes declare none, and one that did fails to register (a bug). */
function noSchemas(): never {
  throw new Error('the ops server compiles no JSON schemas: declare none on its routes');
}
