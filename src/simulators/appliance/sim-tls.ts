/** A TLS identity for a simulated appliance: the certificate doubles as its own CA. */
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
export async function generateSimTls(commonName = 'appliance-sim.localhost'): Promise<SimTls> {
  const { generate } = await import('selfsigned'); // heavy (X.509 stack): only when a simulator starts
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
          { type: 2, value: 'localhost' },
          { type: 2, value: commonName },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert, caPem: pems.cert };
}
