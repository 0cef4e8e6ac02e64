import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { SessionGenerator } from './reporting/session-generator.js';
import { checkHealthXml } from './sim-command-api.js';
import { send } from './sim-http.js';
import { generateSimTls, type SimTls } from './sim-tls.js';
import type { SimTokenStore } from './sim-token-store.js';

export interface SimTrafficNodeOptions {
  /** Index into the generator's `trafficNodes`: the sessions that ran here. */
  index: number;
  generator: SessionGenerator;
  /** The primary's tokens (of either node of a failover pair): a traffic node accepts the tokens the primary mints. */
  tokens: Pick<SimTokenStore, 'check'>;
  now: () => number;
}

/** One request as the node saw it (tests assert where recordings were fetched and with what). */
export interface TrafficRequest {
  path: string;
  authorized: boolean;
}

/**
 * An Atlas traffic node on 127.0.0.1: its own HTTPS server whose certificate carries only its
 * public name (a client reaching it by address must verify that name), the unauthenticated
 * `/check_health`, the Command API `check_health` and the downloads of the sessions that ran on
 * it: `/session_download/recording?lsid=` and `/shell_recording?lsid=&instance=`, bearer token
 * required. Recordings of sessions that ran elsewhere are 404, as on a real node.
 */
export class SimTrafficNode {
  readonly publicName: string;
  readonly requests: TrafficRequest[] = [];
  #server: Server | undefined;
  #tls: SimTls | undefined;
  /** Kept across a stop, so a node started again listens where the bridge's host map points. */
  #port: number | undefined;
  readonly #sockets = new Set<Socket>();

  constructor(private readonly o: SimTrafficNodeOptions) {
    const name = o.generator.options.trafficNodes?.[o.index];
    if (!name) throw new Error(`the generator has no traffic node ${o.index}`);
    this.publicName = name;
  }

  /**
   * Starts listening (on `port`, 0 for any free one); a node stopped and started again keeps its
   * port and certificate, as a rebooted node does.
   */
  async start(port = this.#port ?? 0): Promise<void> {
    this.#tls ??= await generateSimTls(this.publicName, { addresses: false });
    const server = createServer({ key: this.#tls.key, cert: this.#tls.cert }, (req, res) => this.#onRequest(req, res));
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** `127.0.0.1:PORT`: the internal address to map the public name to (also while stopped). */
  get address(): string {
    if (this.#port === undefined) throw new Error('traffic node was never started');
    return `127.0.0.1:${this.#port}`;
  }

  get caPem(): string {
    if (!this.#tls) throw new Error('traffic node not started');
    return this.#tls.caPem;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
    this.#server = undefined;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const auth = this.o.tokens.check(req.headers.authorization);
    this.requests.push({ path: url.pathname, authorized: auth.ok });
    if (url.pathname === '/check_health') return send(res, 200, 'OK\n', 'text/plain');
    if (!auth.ok) return send(res, 401, '{"message":"Access token is invalid"}');
    if (url.pathname === '/api/command' && url.searchParams.get('action') === 'check_health')
      return send(
        res,
        200,
        checkHealthXml({
          applianceId: `traffic-${this.o.index}`,
          hostname: this.publicName,
          version: '25.1.2',
          healthy: true,
          failoverRole: 'none',
        }),
        'application/xml',
      );
    const file = this.#file(url);
    if (!file) return send(res, 404, '{"message":"no such recording on this node"}');
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': file.data.length,
      'content-disposition': `attachment; filename="${file.name}"`,
      connection: 'close',
    });
    res.end(file.data);
  }

  /** The file a download path names, when its session ran on this node and it exists. */
  #file(url: URL): { data: Buffer; name: string } | undefined {
    const g = this.o.generator;
    const i = g.indexOf(url.searchParams.get('lsid') ?? '');
    if (i === undefined || g.trafficNodeOf(i) !== this.o.index || !g.isClosed(i, this.o.now())) return undefined;
    if (url.pathname === '/session_download/recording')
      return g.hasRecording(i) ? { data: g.recording(i), name: `${g.lsidOf(i)}.flv` } : undefined;
    const instance = Number(url.searchParams.get('instance'));
    const shells = g.session(i, this.o.now()).record.shellRecordings;
    if (url.pathname === '/shell_recording' && shells.some((r) => r.instance === instance))
      return { data: g.shellRecording(i, instance), name: `${g.lsidOf(i)}-${instance}.txt` };
    return undefined;
  }
}
