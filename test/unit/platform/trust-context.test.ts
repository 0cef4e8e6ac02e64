import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type SecureContext, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustContext } from '../../../src/platform/http-agent.js';
import { generateSimTls, type SimTls } from '../../../src/simulators/appliance/sim-tls.js';

/** Whether a TLS handshake with `server` verifies (the error code when it does not). */
async function handshake(server: Server, secureContext?: SecureContext): Promise<string> {
  const port = (server.address() as { port: number }).port;
  const socket = connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ...(secureContext ? { secureContext } : {}),
  });
  try {
    await once(socket, 'secureConnect');
    return 'verified';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'failed';
  } finally {
    socket.destroy();
  }
}

describe('trustContext: the system roots plus a caFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trust-'));
  let tls: SimTls;
  let other: SimTls;
  let server: Server;

  beforeAll(async () => {
    [tls, other] = await Promise.all([generateSimTls('trust.localhost'), generateSimTls('other.localhost')]);
    server = createServer({ key: tls.key, cert: tls.cert }, (s) => s.end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(async () => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies a server the file's CA signed, and adds that CA to no other connection", async () => {
    const file = join(dir, 'ca.pem');
    writeFileSync(file, tls.caPem);
    expect(await handshake(server, trustContext(file))).toBe('verified');
    // Added to this context's own store, not to the default roots every other client uses.
    expect(await handshake(server)).not.toBe('verified');
    const otherFile = join(dir, 'other.pem');
    writeFileSync(otherFile, other.caPem);
    expect(await handshake(server, trustContext(otherFile))).not.toBe('verified');
  });

  it('is built once per file while its certificates are unchanged, and again when they change', async () => {
    const file = join(dir, 'shared.pem');
    writeFileSync(file, other.caPem);
    const first = trustContext(file);
    expect(trustContext(file)).toBe(first);
    writeFileSync(file, tls.caPem);
    const changed = trustContext(file);
    expect(changed).not.toBe(first);
    expect(await handshake(server, changed)).toBe('verified');
  });
});
