import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent, Client, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { bypassesProxy, type ProxyConfig } from './config/proxy-field.js';
import { ServiceError } from './errors.js';

export interface AgentOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Extra PEM CA bundle trusted on top of the system roots. */
  caFile?: string;
  /** Pooled keep-alive connections per origin; 1 with `pipelining: 0` behaves like Connection: close. */
  connections?: number;
  /**
   * The name a certificate must carry when an origin is given by IP address (a failover node
   * listed by IP serves the site's certificate): sent as SNI and verified. Never used to skip
   * verification; ignored for origins given by name, and when itself an IP address.
   */
  verifyName?: string;
  /** Tunnel through this HTTP proxy (CONNECT), except for origins on its `noProxy` list. */
  proxy?: ProxyConfig;
}

/** Whether `host` (a URL hostname, IPv6 in brackets) is an IP address. */
const isAddress = (host: string) => isIP(host.replace(/^\[|\]$/g, '')) !== 0;

/**
 * One undici Agent per remote host. TLS verification is always on; the only knob is an extra CA
 * bundle (simulators use it with their generated certificate).
 */
export function createHttpAgent(options: AgentOptions): Agent {
  // One secure context per agent: passing `ca` per connection makes Node parse every root
  // certificate again on each TLS handshake (~100 ms each on these machines).
  let secureContext: SecureContext | undefined;
  if (options.caFile) {
    try {
      secureContext = createSecureContext({ ca: [...rootCertificates, readFileSync(options.caFile, 'utf8')] });
    } catch (e) {
      throw new ServiceError(
        'appliance.tls',
        `cannot read CA bundle ${options.caFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { op: 'http.agent', cause: e },
      );
    }
  }
  const verifyName = options.verifyName && !isAddress(options.verifyName) ? options.verifyName : undefined;
  return new Agent({
    connect: { timeout: options.connectTimeoutMs, ...(secureContext ? { secureContext } : {}) },
    // One pool per origin, as undici's default factory makes, with the verification name set for
    // origins given by IP (undici sends no SNI for them and would verify the address), or a
    // tunnel through the proxy with the same TLS settings towards the origin.
    factory: (origin, opts) => {
      const url = new URL(String(origin));
      const connect = { ...(opts as { connect?: object }).connect };
      const tls =
        verifyName !== undefined && isAddress(url.hostname) ? { ...connect, servername: verifyName } : connect;
      const proxy = options.proxy;
      if (proxy && !bypassesProxy(url, proxy.noProxy)) {
        const { connect: _direct, ...rest } = opts as Pool.Options;
        return new ProxyAgent({
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
    keepAliveTimeout: 10_000,
  });
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
]);

/** If `e` (or its cause chain) is a TLS verification failure, a clear sentence saying so. */
export function describeTlsFailure(e: unknown, host: string): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: string }).code;
    if (code && TLS_CODES.has(code)) {
      return `TLS verification of ${host} failed (${code}): the certificate is not trusted; add its CA to caFile`;
    }
  }
  return undefined;
}
