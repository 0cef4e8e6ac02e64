import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { silentLogger } from '../../platform/logger.js';
import { parseAccounts, type SimAccount, type SimAccountInput } from './sim-accounts.js';
import { apiInfoXml, checkHealthXml, xmlError, type FailoverRole } from './sim-command-api.js';
import { handleSimRoute, type PairControls } from './sim-console-routes.js';
import { send } from './sim-http.js';
import { SimEcmHub } from './sim-ecm-hub.js';
import { generateSimTls, type SimTls } from './sim-tls.js';
import { SimTokenStore } from './sim-token-store.js';

/** Handler of `/api/reporting` requests (mounted by the reporting simulator). */
export type ReportingHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface ApplianceSimulatorOptions {
  accounts: SimAccountInput[];
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  product?: 'pra' | 'rs';
  /** Hostname the appliance reports (welcome, check_health). */
  hostname?: string;
  version?: string;
  applianceId?: string;
  heartbeatMs?: number;
  maxRequestMs?: number;
  helloTimeoutMs?: number;
  tokenTtlSeconds?: number;
  /** Time source for token expiry (tests move it; channels use real timers). */
  now?: () => number;
  failoverRole?: FailoverRole;
  /** `last_data_sync_time` of check_health (a failover pair's sync); default one minute ago. */
  lastSyncAt?: () => number;
  /** `last_data_sync_status` of check_health (default `Success`). */
  lastSyncStatus?: () => string;
  /** A failover pair shares one certificate; a lone simulator generates its own. */
  tls?: SimTls;
  log?: Logger;
  /**
   * Mounts the Reporting API. Called for `GET|POST /api/reporting` only after the simulator has
   * checked the bearer token (401 JSON otherwise), the account's reporting permission (403
   * `<error>` otherwise) and that this node is not a backup (503 `<error>`); `body` is the raw
   * request body (form-encoded for POST), already read. Without it those requests get 501.
   */
  reporting?: ReportingHandler;
  /**
   * /login > Management > API Configuration > "Enable XML API" (default on). Off, the Command and
   * Reporting APIs answer 403 with an `<error>` for every account; OAuth and the ECM channel work.
   */
  xmlApi?: boolean;
}

const MAX_BODY = 1024 * 1024;
/** The simulator's wording: the real appliance's text is not published, the bridge keys on the 403. */
const XML_API_DISABLED = 'The XML API is disabled on this site';

/**
 * A simulated BeyondTrust PRA/RS site over real HTTPS on 127.0.0.1: OAuth with the 30-token
 * rule, the ECM channel (`/api/ecm/v1`), the Command API (`check_health`, `get_api_info`), the
 * unauthenticated `/check_health` probe, a mount point for the Reporting API, failover roles,
 * restart and network-drop controls, and the console driver under `/sim/` (sim-console-routes.ts).
 */
export class ApplianceSimulator {
  readonly tokens: SimTokenStore;
  readonly hub: SimEcmHub;
  readonly product: 'pra' | 'rs';
  readonly applianceId: string;
  readonly hostname: string;
  /** ECM upgrade attempts by HTTP status answered (101 = accepted). */
  readonly upgrades = new Map<number, number>();
  /** The failover pair this node belongs to (set by FailoverPair), for `/sim/control/failover`. */
  pair: PairControls | undefined;
  #role: FailoverRole;
  #down = false;
  #ecmConnections = true;
  #xmlApi: boolean;
  #server: Server | undefined;
  #tls: SimTls | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(private readonly options: ApplianceSimulatorOptions) {
    this.#log = options.log ?? silentLogger();
    this.#now = options.now ?? Date.now;
    this.#role = options.failoverRole ?? 'none';
    this.#xmlApi = options.xmlApi ?? true;
    this.product = options.product ?? 'pra';
    this.applianceId = options.applianceId ?? randomUUID();
    this.hostname = options.hostname ?? 'access.example.com';
    this.tokens = new SimTokenStore(
      parseAccounts({ accounts: options.accounts }),
      this.#now,
      options.tokenTtlSeconds ?? 3600,
    );
    this.hub = new SimEcmHub({
      site: {
        hostname: this.hostname,
        applianceId: this.applianceId,
        product: this.product,
        version: options.version ?? '25.1.2',
      },
      heartbeatMs: options.heartbeatMs ?? 15_000,
      maxRequestMs: options.maxRequestMs ?? 10_000,
      helloTimeoutMs: options.helloTimeoutMs ?? 10_000,
      log: this.#log,
    });
  }

  /** Listens; `tls` lets a failover pair share one certificate. */
  async start(tls = this.options.tls): Promise<void> {
    this.#tls = tls ?? (await generateSimTls(this.hostname));
    const server = createServer(
      { key: this.#tls.key, cert: this.#tls.cert },
      (req, res) => void this.#onRequest(req, res),
    );
    server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  get port(): number {
    const a = this.#server?.address();
    if (!a || typeof a === 'string') throw new Error('simulator is not listening');
    return a.port;
  }

  /** `https://127.0.0.1:PORT`, the site URL to configure. */
  get url(): string {
    return `https://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** `127.0.0.1:PORT`, as a `nodes:` entry. */
  get node(): string {
    return `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  get caPem(): string {
    if (!this.#tls) throw new Error('simulator not started');
    return this.#tls.caPem;
  }

  get role(): FailoverRole {
    return this.#role;
  }

  get down(): boolean {
    return this.#down;
  }

  /** Changes the failover role; a node becoming backup drops its ECM channels with 1001. */
  setRole(role: FailoverRole): void {
    this.#role = role;
    if (role === 'backup') this.hub.closeAll(1001, 'failover: this node is now the backup');
  }

  /**
   * An administrator edits an API account's permissions. Revoking ECM access closes that
   * account's open channels with 4403 (the token is otherwise only checked at the upgrade).
   */
  setPermissions(clientId: string, permissions: Partial<SimAccount['permissions']>): void {
    this.tokens.setPermissions(clientId, permissions);
    if (permissions.ecm === false)
      this.hub.closeAccount(clientId, 4403, 'Endpoint Credential Manager API access was revoked');
  }

  /** An administrator unticks (or ticks) "Enable XML API" in /login > Management > API Configuration. */
  setXmlApi(enabled: boolean): void {
    this.#xmlApi = enabled;
  }

  /** An administrator turns the site's ECM connections off (upgrades get 403) or on. */
  setEcmConnections(enabled: boolean): void {
    this.#ecmConnections = enabled;
    if (!enabled) this.hub.closeAll(4403, 'Endpoint Credential Manager connections were disabled');
  }

  /** An appliance restart: channels closed with 1001, every API answers 503 for `downMs`. */
  async restart(downMs: number): Promise<void> {
    this.#down = true;
    this.hub.closeAll(1001, 'appliance restarting');
    await new Promise((r) => setTimeout(r, downMs));
    this.#down = false;
  }

  /** A network drop: every TCP connection (channels included) vanishes without a close frame. */
  dropNetwork(): void {
    this.hub.dropAll();
    for (const s of this.#sockets) s.destroy();
  }

  async stop(): Promise<void> {
    this.hub.stop();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.#server = undefined;
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const reject = (status: number, body: string, contentType = 'application/json') => {
      this.upgrades.set(status, (this.upgrades.get(status) ?? 0) + 1);
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Service Unavailable'}\r\n` +
          `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    };
    if (new URL(req.url ?? '/', 'https://x').pathname !== '/api/ecm/v1') return reject(404, '{"message":"not found"}');
    if (this.#down) return reject(503, '{"message":"appliance restarting"}');
    if (this.#role === 'backup') return reject(503, '{"message":"this appliance is the failover backup"}');
    if (!this.#ecmConnections)
      return reject(403, '{"message":"Endpoint Credential Manager connections are disabled on this site"}');
    const auth = this.tokens.check(req.headers.authorization);
    if (!auth.ok) return reject(401, '{"message":"Access token is invalid"}');
    if (!auth.account.permissions.ecm)
      return reject(403, '{"message":"Endpoint Credential Manager API access is not allowed for this API account"}');
    this.upgrades.set(101, (this.upgrades.get(101) ?? 0) + 1);
    this.hub.accept(req, socket, head, auth.account);
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'https://x');
      if (url.pathname.startsWith('/sim/')) return await handleSimRoute(this, url, req, res, body);
      if (url.pathname === '/check_health' && req.method === 'GET')
        return send(res, this.#down ? 500 : 200, this.#down ? 'DOWN\n' : 'OK\n', 'text/plain');
      if (this.#down) return send(res, 503, '{"message":"appliance restarting"}');
      if (url.pathname === '/oauth2/token' && req.method === 'POST') return this.#token(req, res, body);
      if ((url.pathname === '/api/command' || url.pathname === '/api/reporting') && !this.#xmlApi)
        return this.#authorize(req, res) && send(res, 403, xmlError(XML_API_DISABLED), 'application/xml');
      if (url.pathname === '/api/command') return this.#command(req, res, url, body);
      if (url.pathname === '/api/reporting') return await this.#reporting(req, res, body);
      send(res, 404, '{"message":"not found"}');
    } catch (e) {
      this.#log.warn({ err: e, url: req.url }, 'simulator request failed');
      if (!res.headersSent)
        send(res, (e as { status?: number }).status ?? 500, `{"message":${JSON.stringify((e as Error).message)}}`);
    }
  }

  #token(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    const decoded = m ? Buffer.from(m[1] as string, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') return send(res, 400, '{"error":"unsupported_grant_type"}');
    const minted = colon > 0 ? this.tokens.mint(decoded.slice(0, colon), decoded.slice(colon + 1)) : undefined;
    if (!minted) return send(res, 401, '{"error":"invalid_client"}');
    send(res, 200, JSON.stringify({ access_token: minted.token, token_type: 'Bearer', expires_in: minted.expiresIn }));
  }

  #authorize(req: IncomingMessage, res: ServerResponse): SimAccount | undefined {
    const auth = this.tokens.check(req.headers.authorization);
    if (auth.ok) return auth.account;
    send(res, 401, '{"message":"Access token is invalid"}');
    return undefined;
  }

  #command(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): void {
    const account = this.#authorize(req, res);
    if (!account) return;
    const action = url.searchParams.get('action') ?? new URLSearchParams(body.toString('utf8')).get('action');
    if (action === 'get_api_info')
      return send(res, 200, apiInfoXml(account, this.product, this.#now()), 'application/xml');
    if (action !== 'check_health')
      return send(res, 400, xmlError(`unknown action: ${action ?? '(none)'}`), 'application/xml');
    if (account.permissions.command === 'deny')
      return send(
        res,
        403,
        xmlError('This API account does not have permission to use the command API'),
        'application/xml',
      );
    send(
      res,
      200,
      checkHealthXml({
        applianceId: this.applianceId,
        hostname: this.hostname,
        version: this.options.version ?? '25.1.2',
        healthy: true,
        failoverRole: this.#role,
        ...(this.#role === 'none'
          ? {}
          : {
              lastSyncAt: this.options.lastSyncAt?.() ?? this.#now() - 60_000,
              lastSyncStatus: this.options.lastSyncStatus?.() ?? 'Success',
            }),
      }),
      'application/xml',
    );
  }

  async #reporting(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const account = this.#authorize(req, res);
    if (!account) return;
    if (!account.permissions.reporting)
      return send(
        res,
        403,
        xmlError('This API account does not have permission to use the reporting API'),
        'application/xml',
      );
    if (this.#role === 'backup')
      return send(res, 503, xmlError('this appliance is the failover backup'), 'application/xml');
    if (!this.options.reporting)
      return send(res, 501, xmlError('the Reporting API is not mounted on this simulator'), 'application/xml');
    await this.options.reporting(req, res, body);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
