import { generate } from 'selfsigned';

/** A TLS identity for a simulator (appliance or Password Safe): the certificate doubles as its own CA. */
export interface SimTls {
  key: string;
  cert: string;
  /** PEM to trust (write it to a file and give it to the bridge as `caFile`). */
  caPem: string;
}

/**
 * Generates a fresh self-signed certificate for `localhost` and 127.0.0.1 (EC P-256, quick to
 * make), so every simulator run exercises the bridge's CA option instead of disabling TLS checks.
 */
export async function generateSimTls(
  commonName = 'appliance-sim.localhost',
  options: { addresses?: boolean } = {},
): Promise<SimTls> {
  // `addresses: false` leaves the IP addresses out: a certificate that carries only the site's
  // name, as real appliances have, for tests of nodes given by IP.
  const addresses = options.addresses ?? true;
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          ...(addresses ? [{ type: 2 as const, value: 'localhost' }] : []),
          { type: 2, value: commonName },
          ...(addresses
            ? [
                { type: 7 as const, ip: '127.0.0.1' },
                { type: 7 as const, ip: '::1' },
              ]
            : []),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert, caPem: pems.cert };
}
