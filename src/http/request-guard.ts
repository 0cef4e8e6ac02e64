import { isIP } from 'node:net';

/**
 * The ops server's defences against a browser on the operator's machine being used against it.
 *
 * DNS rebinding: a page on attacker.example rebinds its name to 127.0.0.1 and reads the ops port
 * as its own origin; the browser then sends `Host: attacker.example`. So a request is answered only
 * when its Host is an IP literal (a page cannot have an IP as its own origin and rebind it), a
 * loopback name, `http.host`, or one of `http.publicNames`.
 *
 * CSRF: a state-changing request must come from a page of this very origin: its `Origin` must be
 * present and name the same host and port as its `Host`. Browsers always send `Origin` on a
 * cross-origin or a fetch POST; tools (curl) add it by hand.
 */
export class RequestGuard {
  readonly #names: Set<string>;

  constructor(listenHost: string, publicNames: readonly string[]) {
    this.#names = new Set(['localhost', ...publicNames.map((n) => n.toLowerCase())]);
    if (isIP(listenHost) === 0) this.#names.add(listenHost.toLowerCase());
  }

  /** Why the Host header is refused, or undefined when it names this server. */
  hostProblem(host: string | undefined): string | undefined {
    const name = hostName(host);
    if (name === undefined) return 'the request has no Host header';
    if (isIP(name) !== 0 || this.#names.has(name) || name.endsWith('.localhost')) return undefined;
    return 'the Host header is not an address of this ops server, a loopback name or one of http.publicNames';
  }

  /** Why a state-changing request is refused as cross-origin, or undefined when it is same-origin. */
  originProblem(origin: string | undefined, host: string | undefined): string | undefined {
    if (origin === undefined || origin === '') return 'a state-changing request must carry an Origin header';
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      return 'the Origin header is not a URL';
    }
    if (parsed.protocol !== 'http:' || parsed.host !== (host ?? '').toLowerCase())
      return 'the Origin header is not the ops server itself (cross-site request refused)';
    return undefined;
  }
}

/** The host of a Host header, lower-case, without port or IPv6 brackets. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  const h = host.toLowerCase();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6) return v6[1];
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}
