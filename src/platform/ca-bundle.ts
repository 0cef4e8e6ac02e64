import { X509Certificate } from 'node:crypto';
import { MAX_CONFIG_FILE_BYTES, readBoundedFile } from './bounded-file.js';
import { ServiceError } from './errors.js';

/**
 * The PEM certificates of a `caFile`, each one parsed. Node silently ignores text that is not
 * PEM, so a file without a single readable certificate is refused here, naming the file:
 * otherwise the mistake would surface later as an untrusted certificate. Throws
 * `config.ca_unreadable`. Used when the configuration is validated and when a TLS context is built.
 */
export function readCaBundle(caFile: string): string[] {
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
  return pems;
}
