import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { generateSimTls } from '../appliance/sim-tls.js';
import { EstateIndex, type SimAccount } from './estate-index.js';
import type { Seed } from './seed.js';
import { assetSystems, managedAccounts, managedSystems, platforms, searchAssets, workgroups } from './sim-discovery.js';
import { CallTrace } from './sim-call-trace.js';
import { SimFaults } from './sim-faults.js';
import { SimHttpError } from './sim-http-error.js';
import { SimRequests, type SimRequest } from './sim-requests.js';
import { SESSION_COOKIE, SimSessions, type SimSession } from './sim-sessions.js';

export const PS_BASE_PATH = '/BeyondTrust/api/public/v3';
const MAX_BODY = 64 * 1024;

export interface PasswordSafeSimulatorOptions {
  seed: Seed;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Time source for session idle expiry and request expiry (tests move it). */
  now?: () => number;
}

interface Call {
  method: string;
  segments: string[];
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  remote: string;
  body: string;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A BeyondTrust Password Safe (public API v3 subset) on 127.0.0.1, for tests, the demo and
 * benchmarks. Routing and query names are case-insensitive and a trailing slash is accepted, as
 * on the real server. `faults` changes behaviour at run time; the introspection methods let
 * tests see what the client did (calls per route, sessions, requests, current passwords).
 */
export class PasswordSafeSimulator {
  readonly faults = new SimFaults();
  readonly estate: EstateIndex;
  readonly sessions: SimSessions;
  readonly #requests: SimRequests;
  readonly #calls = new Map<string, number>();
  #trace: CallTrace | undefined;
  readonly #connections = { opened: 0, open: 0, peak: 0 };
  /** Connections with a request being answered (one each: clients here do not pipeline). */
  readonly #busy = new Set<Socket>();
  #server: Server | undefined;
  #caPem: string | undefined;

  private constructor(private readonly options: PasswordSafeSimulatorOptions) {
    const now = options.now ?? Date.now;
    this.estate = new EstateIndex(options.seed, now());
    this.sessions = new SimSessions(this.estate, now, options.seed.sessionIdleSeconds * 1000);
    this.#requests = new SimRequests(this.estate, now);
  }

  static async start(options: PasswordSafeSimulatorOptions): Promise<PasswordSafeSimulator> {
    const sim = new PasswordSafeSimulator(options);
    await sim.#listen();
    return sim;
  }

  async #listen(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    // HTTPS only, like the bridge's own config: a simulator must not teach plain-HTTP setups.
    const host = this.options.host ?? '127.0.0.1';
    const tls = await generateSimTls(host === '127.0.0.1' || host === 'localhost' ? 'passwordsafe-simulator' : host);
    this.#caPem = tls.caPem;
    this.#server = createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
    const server = this.#server;
    server.on('secureConnection', (socket) => {
      this.#connections.opened++;
      this.#connections.open++;
      socket.once('close', () => this.#connections.open--);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo).port;
  }

  /** Base URL of the API, e.g. https://127.0.0.1:41234/BeyondTrust/api/public/v3 */
  get url(): string {
    const host = this.options.host ?? '127.0.0.1';
    return `https://${host}:${this.port}${PS_BASE_PATH}`;
  }

  /** PEM of the generated certificate (it is its own CA): give it to clients as caFile. */
  get caPem(): string {
    if (!this.#caPem) throw new Error('the simulator runs without TLS');
    return this.#caPem;
  }

  // --- introspection ---------------------------------------------------------------------------

  /** Calls received on a route (`GET ManagedAccounts`), or on all routes. */
  calls(route?: string): number {
    if (route === undefined) return [...this.#calls.values()].reduce((a, b) => a + b, 0);
    return this.#calls.get(route) ?? 0;
  }

  callCounts(): Record<string, number> {
    return Object.fromEntries(this.#calls);
  }

  resetCalls(): void {
    this.#calls.clear();
  }

  /**
   * TLS connections clients made: opened (since start or the last reset), open now, and `peak`,
   * the most connections carrying a request at once (a handshake a client gave up does not count).
   */
  connections(): { opened: number; open: number; peak: number } {
    return { ...this.#connections };
  }

  resetConnections(): void {
    this.#connections.opened = 0;
    this.#connections.peak = this.#busy.size;
  }

  /** From now on, record the order in which calls start and end (see `sequentialRounds`); replaces an earlier trace. */
  traceCalls(): CallTrace {
    this.#trace = new CallTrace();
    return this.#trace;
  }

  account(systemName: string, accountName: string): SimAccount {
    const a = this.estate.accounts.find(
      (x) =>
        x.system.name.toLowerCase() === systemName.toLowerCase() && x.name.toLowerCase() === accountName.toLowerCase(),
    );
    if (!a) throw new Error(`no account ${systemName}/${accountName}`);
    return a;
  }

  currentPassword(systemName: string, accountName: string): string {
    return this.account(systemName, accountName).password;
  }

  requests(): SimRequest[] {
    return this.#requests.all();
  }

  approve(requestId: number): void {
    this.#requests.approve(requestId);
  }

  /** Forced session expiry: the next call with those cookies gets 401. */
  expireSessions(userName?: string): number {
    return this.sessions.expire(userName);
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  // --- HTTP ------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket;
    this.#busy.add(socket);
    this.#connections.peak = Math.max(this.#connections.peak, this.#busy.size);
    res.once('close', () => this.#busy.delete(socket));
    let call: Call;
    try {
      call = await readCall(req);
    } catch {
      return send(res, { status: 413, body: 'Request body too large' });
    }
    const route = routeOf(call);
    if (!route) return send(res, { status: 404, body: 'Not found' });
    this.#calls.set(route.name, (this.#calls.get(route.name) ?? 0) + 1);
    // A traced call ends when its answer is ready, before the client can have seen it.
    const end = this.#trace?.begin(route.name) ?? (() => {});
    if (this.faults.latencyMs > 0) await delay(this.faults.latencyMs);
    const fault = this.faults.decide(route.name);
    end();
    if (fault.kind === 'reset') return void req.socket.destroy();
    if (fault.kind === 'status') {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      return send(res, {
        status: fault.status,
        body: fault.status === 429 ? 'Too many requests' : 'Service unavailable',
        headers,
      });
    }
    try {
      send(res, this.#dispatch(route.name, route.params, call));
    } catch (e) {
      if (e instanceof SimHttpError) return send(res, { status: e.status, body: JSON.parse(e.body) as unknown });
      send(res, { status: 500, body: 'Internal error' });
    }
  }

  #dispatch(route: string, params: string[], call: Call): Answer {
    const session = (): SimSession => this.sessions.require(call.headers.cookie);
    const json = () => parseJson(call.body);
    switch (route) {
      case 'POST Auth/connect/token':
        return { status: 200, body: this.sessions.issueToken(new URLSearchParams(call.body)) };
      case 'POST Auth/SignAppin': {
        const s = this.sessions.signIn(call.headers.authorization, call.remote);
        const u = s.user;
        return {
          status: 200,
          body: { UserId: u.id, SID: u.sid, EmailAddress: u.email, UserName: u.name, Name: u.displayName },
          headers: { 'set-cookie': `${SESSION_COOKIE}=${s.id}; path=/; secure; HttpOnly; SameSite=Lax` },
        };
      }
      case 'POST Auth/Signout':
        this.sessions.signOut(call.headers.cookie);
        return { status: 200 };
      case 'GET ManagedAccounts': {
        const user = session().user;
        return {
          status: 200,
          body: managedAccounts(this.estate, user, call.query, this.#requests.recentAccounts(user)),
        };
      }
      case 'GET ManagedSystems':
        return { status: 200, body: managedSystems(this.estate, session().user, call.query) };
      case 'POST Assets/Search':
        return { status: 200, body: searchAssets(this.estate, session().user, json(), call.query) };
      case 'GET Assets/ManagedSystems':
        return { status: 200, body: assetSystems(this.estate, session().user, params[0]!) };
      case 'GET Platforms':
        session();
        return { status: 200, body: platforms(this.estate) };
      case 'GET Workgroups':
        session();
        return { status: 200, body: workgroups(this.estate) };
      case 'POST Requests':
        return { status: 201, body: this.#requests.create(session().user, json()) };
      case 'GET Requests':
        return { status: 200, body: this.#requests.list(session().user, call.query.get('status') ?? 'all') };
      case 'PUT Requests/checkin':
        this.#requests.checkin(session().user, params[0]!, call.body.trim() === '' ? {} : json());
        return { status: 204 };
      case 'GET Credentials':
        return {
          status: 200,
          body: this.#requests.credential(session().user, params[0]!, call.query.get('type') ?? 'password'),
        };
      default:
        return { status: 404, body: 'Not found' };
    }
  }
}

const ROUTES: { method: string; pattern: RegExp; name: string }[] = [
  { method: 'POST', pattern: /^auth\/connect\/token$/, name: 'POST Auth/connect/token' },
  { method: 'POST', pattern: /^auth\/signappin$/, name: 'POST Auth/SignAppin' },
  { method: 'POST', pattern: /^auth\/signout$/, name: 'POST Auth/Signout' },
  { method: 'GET', pattern: /^managedaccounts$/, name: 'GET ManagedAccounts' },
  { method: 'GET', pattern: /^managedsystems$/, name: 'GET ManagedSystems' },
  { method: 'POST', pattern: /^assets\/search$/, name: 'POST Assets/Search' },
  { method: 'GET', pattern: /^assets\/(\d+)\/managedsystems$/, name: 'GET Assets/ManagedSystems' },
  { method: 'GET', pattern: /^platforms$/, name: 'GET Platforms' },
  { method: 'GET', pattern: /^workgroups$/, name: 'GET Workgroups' },
  { method: 'POST', pattern: /^requests$/, name: 'POST Requests' },
  { method: 'GET', pattern: /^requests$/, name: 'GET Requests' },
  { method: 'PUT', pattern: /^requests\/(\d+)\/checkin$/, name: 'PUT Requests/checkin' },
  { method: 'GET', pattern: /^credentials\/(\d+)$/, name: 'GET Credentials' },
];

/** Case-insensitive path under the base path, trailing slash ignored. */
function routeOf(call: Call): { name: string; params: string[] } | undefined {
  const path = call.segments.join('/');
  for (const r of ROUTES) {
    const m = r.method === call.method ? r.pattern.exec(path) : null;
    if (m) return { name: r.name, params: m.slice(1) };
  }
  return undefined;
}

async function readCall(req: IncomingMessage): Promise<Call> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const url = new URL(req.url ?? '/', 'http://sim');
  const base = PS_BASE_PATH.toLowerCase();
  let path = decodeURIComponent(url.pathname).toLowerCase().replace(/\/+$/, '');
  path = path.startsWith(base) ? path.slice(base.length) : '/\0';
  const query = new URLSearchParams();
  for (const [k, v] of url.searchParams) query.append(k.toLowerCase(), v);
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    segments: path.split('/').filter((s) => s !== ''),
    query,
    headers: req.headers,
    remote: req.socket.remoteAddress ?? '',
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through to the 400 below
  }
  throw new SimHttpError(400, '"The request body must be a JSON object"');
}

function send(res: ServerResponse, a: Answer): void {
  const headers: Record<string, string> = { ...a.headers };
  if (a.body === undefined) {
    res.writeHead(a.status, headers).end();
    return;
  }
  const text = JSON.stringify(a.body);
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(text));
  res.writeHead(a.status, headers).end(text);
}
