import { request } from 'node:http';
import { Agent as HttpsAgent, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { bypassesProxy, type ProxyConfig } from './config/proxy-field.js';
import { asProxyFailure } from './http/proxy-failures.js';
import { originKey } from './http-agent.js';

/**
 * A Node https Agent whose connections are CONNECT tunnels through an HTTP proxy, for clients
 * that do not use undici (the `ws` ECM channel). TLS to the origin runs inside the tunnel with
 * the options of the request (CA, SNI). The password goes only into Proxy-Authorization.
 */
class TunnelAgent extends HttpsAgent {
  constructor(
    private readonly proxy: ProxyConfig,
    private readonly timeoutMs: number,
  ) {
    super({ keepAlive: false });
  }

  override createConnection(options: RequestOptions, done?: (err: Error | null, socket: Duplex) => void): undefined {
    const proxy = new URL(this.proxy.url);
    const target = `${options.host}:${options.port ?? 443}`;
    const auth =
      this.proxy.username && this.proxy.password
        ? `Basic ${Buffer.from(`${this.proxy.username}:${this.proxy.password.reveal()}`).toString('base64')}`
        : undefined;
    const req = request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: target,
      timeout: this.timeoutMs,
      headers: { host: target, ...(auth ? { 'proxy-authorization': auth } : {}) },
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        const refused = new Error(`Proxy response (${res.statusCode}) !== 200 when HTTP Tunneling`);
        return done?.(asProxyFailure(refused, this.proxy.url) ?? refused, socket);
      }
      done?.(null, tlsConnect({ ...(options as ConnectionOptions), socket }));
    });
    req.once('timeout', () =>
      req.destroy(Object.assign(new Error('no answer to CONNECT in time'), { code: 'PROXY_CONNECT_TIMEOUT' })),
    );
    req.once('error', (e) => done?.(asProxyFailure(e, this.proxy.url) ?? e, undefined as unknown as Duplex));
    req.end();
    // Node's Agent waits for `done` when no socket is returned.
    return undefined;
  }
}

/**
 * What the ECM channel's WebSocket needs beside its CA to reach `origin` like the site's undici
 * agents do: the name its certificate must carry (`verifyNames`, as createHttpAgent takes them)
 * as SNI and verification name, and a tunnel agent when the site has a proxy that `origin` does
 * not bypass.
 */
export function channelTransport(
  origin: string,
  o: { verifyNames?: ReadonlyMap<string, string>; proxy?: ProxyConfig; connectTimeoutMs: number },
): { servername?: string; agent?: HttpsAgent } {
  const url = new URL(origin);
  const servername = o.verifyNames?.get(originKey(url));
  return {
    ...(servername !== undefined ? { servername } : {}),
    ...(o.proxy && !bypassesProxy(url, o.proxy.noProxy) ? { agent: new TunnelAgent(o.proxy, o.connectTimeoutMs) } : {}),
  };
}
