import { DecoratorHandler, ProxyAgent, type Dispatcher } from 'undici';

/** How a CONNECT proxy failed, as opposed to the origin behind it. */
export type ProxyFailureKind = 'refused' | 'auth_failed' | 'down' | 'unresolvable';

/**
 * A failure of the proxy itself: it refused the tunnel (403 or another non-200), refused the
 * credentials (407), is not answering, or its name does not resolve. `proxy` is the proxy's
 * `host:port` only (never the credentials); `reason` the proxy's HTTP status or the network
 * code; the original error is the cause.
 */
export class ProxyFailure extends Error {
  constructor(
    readonly kind: ProxyFailureKind,
    readonly proxy: string,
    readonly reason: string,
    cause: unknown,
  ) {
    super(`proxy ${proxy}: ${kind} (${reason})`, { cause });
    this.name = 'ProxyFailure';
  }

  /** The proxy's answer to CONNECT, when it gave one. */
  get status(): number | undefined {
    return /^\d{3}$/.test(this.reason) ? Number(this.reason) : undefined;
  }
}

/** undici's ProxyAgent and the channel's tunnel agent both say a refused CONNECT this way. */
const REFUSED_CONNECT = /Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/;

/** Through a proxy only the proxy's own name is resolved and only the proxy is dialled here. */
const UNRESOLVABLE = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const DOWN = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'PROXY_CONNECT_TIMEOUT']);

/**
 * `e`, a failure of a request sent through the proxy at `proxyUrl`, as a ProxyFailure when the
 * proxy is to blame; undefined when the failure may be the origin's (TLS, a reset inside the
 * tunnel, an HTTP status from the origin).
 */
export function asProxyFailure(e: unknown, proxyUrl: string): ProxyFailure | undefined {
  if (e instanceof ProxyFailure) return e;
  const proxy = new URL(proxyUrl);
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const status = REFUSED_CONNECT.exec((cur as { message?: unknown }).message as string)?.[1];
    if (status) return new ProxyFailure(status === '407' ? 'auth_failed' : 'refused', proxy.host, status, e);
    const code = (cur as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (UNRESOLVABLE.has(code)) return new ProxyFailure('unresolvable', proxy.host, code, e);
    if (DOWN.has(code)) return new ProxyFailure('down', proxy.host, code, e);
  }
  return undefined;
}

interface PassThroughHandler extends Dispatcher.DispatchHandler {
  onResponseError(controller: Dispatcher.DispatchController, error: Error): void;
}
/** undici's pass-through handler (it adapts either handler style); its types omit the methods. */
const PassThrough = DecoratorHandler as unknown as new (handler: Dispatcher.DispatchHandler) => PassThroughHandler;

/** Hands a request's failure on as a ProxyFailure when the proxy is to blame. */
class ProxyBlame extends PassThrough {
  constructor(
    handler: Dispatcher.DispatchHandler,
    private readonly proxyUrl: string,
  ) {
    super(handler);
  }
  override onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    super.onResponseError(controller, asProxyFailure(error, this.proxyUrl) ?? error);
  }
}

/** undici's ProxyAgent whose failures name the proxy when it, not the origin, failed. */
export class NamingProxyAgent extends ProxyAgent {
  readonly #url: string;
  constructor(options: ProxyAgent.Options & { uri: string }) {
    super(options);
    this.#url = options.uri;
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return super.dispatch(options, new ProxyBlame(handler, this.#url));
  }
}
