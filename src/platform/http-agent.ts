import { X509Certificate } from 'node:crypto';
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
 * The system roots plus the PEM certificates of `caFile`, as one TLS context to reuse: passing
 * `ca` per connection makes Node parse every root certificate again on each handshake (~100 ms
 * each on these machines). Node silently ignores text that is not PEM, so a file without a
 * single readable certificate is refused here: otherwise the mistake would surface later as an
 * untrusted certificate. Throws `config.ca_unreadable` naming the file.
 */
export function trustContext(caFile: string): SecureContext {
  const unreadable = (why: string, cause?: unknown) =>
    new ServiceError('config.ca_unreadable', `CA file ${caFile} ${why}`, {
      op: 'tls.trust',
      ...(cause === undefined ? {} : { cause }),
      details: { caFile },
    });
  let text: string;
  try {
    text = readBoundedFile(caFile, MAX_CONFIG_FILE_BYTES);
  } catch (e) {
    throw unreadable(`cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`, e);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw unreadable('holds no PEM certificate (-----BEGIN CERTIFICATE----- block)');
  pems.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (e) {
      throw unreadable(`has a certificate that cannot be parsed (block ${i + 1} of ${pems.length})`, e);
    }
  });
  return createSecureContext({ ca: [...rootCertificates, ...pems] });
}

/**
 * One undici Agent per remote host. TLS verification is always on; the only knob is an extra CA
 * bundle (simulators use it with their generated certificate).
 */
export function createHttpAgent(options: AgentOptions): Agent {
  const secureContext = options.caFile ? trustContext(options.caFile) : undefined;
  return new Agent({
    connect: { timeout: options.connectTimeoutMs, ...(secureContext ? { secureContext } : {}) },
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
    connections: options.connections ?? 16,
    keepAliveTimeout: 10_000,
  });
}
