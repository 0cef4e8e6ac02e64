import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Agent } from 'undici';
import { MAX_CONFIG_FILE_BYTES, readBoundedFile } from './bounded-file.js';
import { ServiceError } from './errors.js';

export interface AgentOptions {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** Extra PEM CA bundle trusted on top of the system roots. */
  caFile?: string;
  /** Pooled keep-alive connections per origin; 1 with `pipelining: 0` behaves like Connection: close. */
  connections?: number;
}

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
      const pem = readBoundedFile(options.caFile, MAX_CONFIG_FILE_BYTES);
      // createSecureContext silently ignores text that holds no certificate: a wrong file would
      // only show up as "not trusted" at the first connection.
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw Object.assign(new Error('no PEM certificate'), { code: 'no PEM certificate in it' });
      secureContext = createSecureContext({ ca: [...rootCertificates, pem] });
    } catch (e) {
      throw new ServiceError(
        'appliance.tls',
        `cannot read CA bundle ${options.caFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        { op: 'http.agent', cause: e },
      );
    }
  }
  return new Agent({
    connect: { timeout: options.connectTimeoutMs, ...(secureContext ? { secureContext } : {}) },
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

const UNTRUSTED = 'the certificate is not trusted; add its CA to caFile';
/** What to do, by failure: only an unknown issuer is fixed by caFile. */
const TLS_ADVICE: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired; renew it on the server (caFile cannot fix this)',
  CERT_NOT_YET_VALID: "the certificate is not valid yet; check the server's and this host's clocks",
  ERR_TLS_CERT_ALTNAME_INVALID:
    'the certificate does not name this host; use a URL with a name the certificate lists (caFile cannot fix this)',
};

/** If `e` (or its cause chain) is a TLS verification failure, a clear sentence saying so. */
export function describeTlsFailure(e: unknown, host: string): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: string }).code;
    if (code && TLS_CODES.has(code))
      return `TLS verification of ${host} failed (${code}): ${TLS_ADVICE[code] ?? UNTRUSTED}`;
  }
  return undefined;
}
