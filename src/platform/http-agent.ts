import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { Agent, Client, Pool, type Dispatcher } from 'undici';
import { NamingProxyAgent } from './http/proxy-failures.js';
import { readCaBundle } from './ca-bundle.js';
import { bypassesProxy, type ProxyConfig } from './config/proxy-field.js';

export interface AgentOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Extra PEM CA bundle trusted on top of the system roots. */
  caFile?: string;
  /** Pooled keep-alive connections per origin; 1 with `pipelining: 0` behaves like Connection: close. */
  connections?: number;
  /**
   * Requests in flight on one connection; undici's default, 1, is no pipelining. Set it only to
   * make that explicit (0 turns keep-alive off).
   */
  pipelining?: number;
  /**
   * Certificate names by origin (`originKey`): a failover node listed by IP or by its own name
   * serves the site's certificate, an Atlas traffic node reached by an internal name or address
   * the certificate of its public name (ClusterHosts.verifyNames). Sent as SNI and verified;
   * never used to skip verification.
   */
  verifyNames?: ReadonlyMap<string, string>;
  /** Tunnel through this HTTP proxy (CONNECT), except for origins on its `noProxy` list. */
  proxy?: ProxyConfig;
}

/** `host:port` of a URL, the host in lower case and the port always written (443 by default): the key of `verifyNames`. */
export const originKey = (u: URL) => `${u.hostname.toLowerCase()}:${u.port || '443'}`;

/** Whether `host` (a URL hostname, IPv6 in brackets) is an IP address. */
export const isAddress = (host: string) => isIP(host.replace(/^\[|\]$/g, '')) !== 0;

/** The last context built for each CA file, with the certificates it was built from. */
const trustByFile = new Map<string, { pems: string; context: SecureContext }>();

/**
 * The system roots plus the PEM certificates of `caFile`, as one TLS context to reuse (passing
 * `ca` per connection makes Node parse every root certificate again on each handshake). Built
 * from Node's default roots, which Node parses once per process, with the file's certificates
 * added: listing `rootCertificates` as `ca` parsed all ~140 of them again for every context, 22 ms
 * each on an idle machine and 110-290 ms during a loaded start, three times per `serve` start.
 * The default roots also honour `NODE_EXTRA_CA_CERTS` and `--use-openssl-ca`, as any Node client
 * does. A site's link and its HTTP agent share one context per file while its certificates are
 * unchanged. Throws `config.ca_unreadable` naming the file (see `readCaBundle`).
 */
export function trustContext(caFile: string): SecureContext {
  const pems = readCaBundle(caFile);
  const key = pems.join('\n');
  const known = trustByFile.get(caFile);
  if (known?.pems === key) return known.context;
  const context = createSecureContext();
  // What `createSecureContext({ ca })` does per certificate, without replacing the default roots.
  const native = context.context as { addCACert(pem: string): void };
  for (const pem of pems) native.addCACert(pem);
  trustByFile.set(caFile, { pems: key, context });
  return context;
}

/**
 * One undici Agent per remote host. TLS verification is always on; the only knob is an extra CA
 * bundle (simulators use it with their generated certificate).
 */
export function createHttpAgent(options: AgentOptions): Agent {
  const secureContext = options.caFile ? trustContext(options.caFile) : undefined;
  return new Agent({
    connect: { timeout: options.connectTimeoutMs, ...(secureContext ? { secureContext } : {}) },
    // One pool per origin, as undici's default factory makes, with the verification name set for
    // origins reached by another name or by IP (undici sends no SNI for an IP and would verify
    // the address), or a tunnel through the proxy with the same TLS settings towards the origin.
    factory: (origin, opts) => {
      const url = new URL(String(origin));
      const connect = { ...(opts as { connect?: object }).connect };
      const servername = options.verifyNames?.get(originKey(url));
      const tls = servername !== undefined ? { ...connect, servername } : connect;
      const proxy = options.proxy;
      if (proxy && !bypassesProxy(url, proxy.noProxy)) {
        const { connect: _direct, ...rest } = opts as Pool.Options;
        return new NamingProxyAgent({
          ...rest,
          uri: proxy.url,
          ...(proxy.username && proxy.password
            ? { token: `Basic ${Buffer.from(`${proxy.username}:${proxy.password.reveal()}`).toString('base64')}` }
            : {}),
          requestTls: tls,
          proxyTls: { timeout: options.connectTimeoutMs },
        }) as Dispatcher;
      }
      const o = { ...opts, connect: tls } as Pool.Options;
      return (o.connections === 1 ? new Client(origin, o) : new Pool(origin, o)) as Dispatcher;
    },
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
    connections: options.connections ?? 16,
    ...(options.pipelining === undefined ? {} : { pipelining: options.pipelining }),
    keepAliveTimeout: 10_000,
  });
}
