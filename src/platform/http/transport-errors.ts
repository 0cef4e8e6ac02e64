import { ServiceError, type ErrorCode } from '../errors.js';
import { ProxyFailure, type ProxyFailureKind } from './proxy-failures.js';

/**
 * What a failed HTTP exchange tells about itself. Node and undici report transport failures as
 * errors with a `code`, sometimes wrapped (`cause`); these helpers read that chain so every
 * client classifies the same failure the same way.
 */

/** Answers worth another attempt: the server (or a proxy) says "not now", not "no". */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Network failures worth another attempt: the exchange broke, the arguments were fine. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/** Transport failures that happen before a single byte of the request reached the server. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Requests this process could not even build (a header value HTTP cannot carry, a bad option). */
const LOCAL_ARGUMENT_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
]);

/** Certificate verification failures: the peer is not who the configured trust says. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_NOT_YET_VALID',
]);

/** The first `code` in `e`'s cause chain that is in `codes`. */
function codeIn(e: unknown, codes: ReadonlySet<string>): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && codes.has(code)) return code;
  }
  return undefined;
}

/** The outermost `code` in `e`'s cause chain, for messages ("ECONNRESET"); the error's name otherwise. */
export function errorCode(e: unknown): string {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return e instanceof Error ? e.name : 'error';
}

/**
 * The network code when `e` is a transport failure another attempt may cure. A proxy's own
 * failure is not: it is reported at once under its own code (proxyServiceError), naming the proxy.
 */
export const transientCode = (e: unknown): string | undefined =>
  proxyFailureIn(e) ? undefined : codeIn(e, TRANSIENT_CODES);

/** True when `e` certainly happened before the server saw the request (safe to resend anything). */
export const failedBeforeSending = (e: unknown): boolean => codeIn(e, NOT_SENT_CODES) !== undefined;

/** The code when `e` says the request was malformed here (never retried: it would fail again). */
export const localArgumentCode = (e: unknown): string | undefined => codeIn(e, LOCAL_ARGUMENT_CODES);

const UNTRUSTED = 'the certificate is not trusted; add its CA to caFile';
/** What to do, by failure: only an unknown issuer is fixed by caFile. */
const TLS_ADVICE: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired; renew it on the server (caFile cannot fix this)',
  CERT_NOT_YET_VALID: "the certificate is not valid yet; check the server's and this host's clocks",
  ERR_TLS_CERT_ALTNAME_INVALID:
    'the certificate does not name this host; use a URL with a name the certificate lists (caFile cannot fix this)',
};

/**
 * The name a certificate was checked against, when `e` is a name mismatch: Node's error carries
 * it as `host` (the SNI name when one was set, e.g. the site name for a node reached by address).
 */
function nameChecked(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const c = cur as { code?: unknown; host?: unknown };
    if (c.code === 'ERR_TLS_CERT_ALTNAME_INVALID' && typeof c.host === 'string') return c.host;
  }
  return undefined;
}

const tlsName = (e: unknown) => {
  const name = nameChecked(e);
  return name === undefined ? {} : { tlsName: name };
};

/**
 * If `e` (or its cause chain) is a TLS verification failure, a clear sentence saying so; a name
 * mismatch names the name verified against when it is not `host`'s own (a node reached by
 * address or by another name, verified against the site's or its public name).
 */
export function describeTlsFailure(e: unknown, host: string): string | undefined {
  const code = codeIn(e, TLS_CODES);
  if (!code) return undefined;
  const name = nameChecked(e);
  // `host` may be a label such as `tn1.example (via 10.0.0.5:443)`: its first word is the host.
  const hostName = (host.split(' ')[0] ?? host).replace(/:\d+$/, '').toLowerCase();
  if (name !== undefined && name.toLowerCase() !== hostName)
    return `TLS verification of ${host} against the name ${name} failed (${code}): the certificate does not name ${name} (caFile cannot fix this)`;
  return `TLS verification of ${host} failed (${code}): ${TLS_ADVICE[code] ?? UNTRUSTED}`;
}

/** Which codes a client reports a thrown transport error with, and how its messages start. */
export interface TransportErrorCodes {
  tls: ErrorCode;
  /** The request could not be built here (nothing was sent). */
  invalid: ErrorCode;
  unavailable: ErrorCode;
  /** Message prefix naming the remote's owner, e.g. `site corp: `. */
  prefix: string;
  op: string;
  details?: Record<string, unknown>;
}

/**
 * A thrown transport error as a ServiceError in the client's own codes: a TLS verification
 * failure (with the sentence naming caFile), a request that could not be built here, or an
 * unreachable remote. A ServiceError passes through unchanged.
 */
export function transportServiceError(e: unknown, host: string, c: TransportErrorCodes): ServiceError {
  if (e instanceof ServiceError) return e;
  const base = { op: c.op, cause: e, ...(c.details ? { details: c.details } : {}) };
  const proxy = proxyServiceError(e, host, c);
  if (proxy) return proxy;
  const tls = describeTlsFailure(e, host);
  // The verification code picks the fix (a name mismatch is not cured by a CA).
  if (tls)
    return new ServiceError(c.tls, `${c.prefix}${tls}`, {
      ...base,
      details: { ...c.details, tlsCode: codeIn(e, TLS_CODES), ...tlsName(e) },
    });
  const local = localArgumentCode(e);
  if (local)
    return new ServiceError(
      c.invalid,
      `${c.prefix}cannot send ${c.op} to ${host}: ${(e as Error).message} (${local})`,
      {
        ...base,
        details: { ...c.details, code: local },
      },
    );
  return new ServiceError(c.unavailable, `${c.prefix}cannot reach ${host} (${errorCode(e)})`, base);
}

const PROXY_CODES: Record<ProxyFailureKind, ErrorCode> = {
  refused: 'proxy.refused',
  auth_failed: 'proxy.auth_failed',
  down: 'proxy.unreachable',
  unresolvable: 'proxy.unresolvable',
};

/**
 * When the proxy on the way to `host` failed (refused the tunnel, refused its credentials, is
 * down, does not resolve), that failure under its own `proxy.*` code, naming the proxy and the fix.
 */
export function proxyServiceError(
  e: unknown,
  host: string,
  c: { prefix: string; op: string; details?: Record<string, unknown> },
): ServiceError | undefined {
  const p = proxyFailureIn(e);
  if (!p) return undefined;
  return new ServiceError(PROXY_CODES[p.kind], `${c.prefix}${proxyMessage(p, host)}`, {
    op: c.op,
    cause: e,
    details: { ...c.details, proxy: p.proxy, ...(p.status ? { proxyStatus: p.status } : {}) },
  });
}

function proxyFailureIn(e: unknown): ProxyFailure | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++)
    if (cur instanceof ProxyFailure) return cur;
  return undefined;
}

/** One sentence: which proxy failed how on the way to `host`, and the fix for that cause. */
function proxyMessage(p: ProxyFailure, host: string): string {
  switch (p.kind) {
    case 'refused':
      return `proxy ${p.proxy} refused the tunnel to ${host} (${p.reason}); allow CONNECT to ${host} on the proxy, or list the host in proxy.noProxy`;
    case 'auth_failed':
      return `proxy ${p.proxy} refused the proxy credentials (407) on the way to ${host}; check proxy.username and proxy.password`;
    case 'down':
      return `proxy ${p.proxy} is not answering on the way to ${host} (${p.reason}); start the proxy or fix proxy.url`;
    case 'unresolvable':
      return `proxy ${p.proxy} cannot be found on the way to ${host}: its name does not resolve (${p.reason}); fix proxy.url or this host's DNS`;
  }
}
