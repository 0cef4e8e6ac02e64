import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { OpsServer } from '../../src/http/ops-server.js';
import { isServiceError } from '../../src/platform/errors.js';
import { createMetricsRegistry } from '../../src/platform/metrics.js';
import { Readiness } from '../../src/platform/readiness.js';
import { Secret } from '../../src/platform/secret.js';
import { captureLogger } from '../helpers/log-capture.js';

let server: OpsServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function make(host: string, port: number, token?: string) {
  return new OpsServer(
    { host, port, ...(token ? { auth: { token: new Secret(token) } } : {}) },
    { log: captureLogger().log, metrics: createMetricsRegistry({ defaultMetrics: false }), readiness: new Readiness() },
    { idleMs: 300, requestMs: 1000 },
  );
}

describe('ops server edge cases', () => {
  it('a port in use or an unresolvable host is a configuration error naming the cause', async () => {
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as { port: number }).port;
    try {
      const e = await make('127.0.0.1', port)
        .start()
        .catch((x: unknown) => x);
      expect(isServiceError(e, 'config.invalid')).toBe(true);
      expect((e as Error).message).toMatch(/EADDRINUSE.*another process already listens/);
    } finally {
      taken.close();
    }
    const e = await make('no-such-host.invalid', 0)
      .start()
      .catch((x: unknown) => x);
    expect(isServiceError(e, 'config.invalid')).toBe(true);
    expect((e as Error).message).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });

  it('the bearer scheme is case-insensitive; /healthz with a query needs no token', async () => {
    server = make('127.0.0.1', 0, 'ops-token-0123456789');
    await server.start();
    const base = `http://127.0.0.1:${server.address.port}`;
    const get = async (path: string, authorization?: string) => {
      const res = await request(`${base}${path}`, authorization ? { headers: { authorization } } : {});
      await res.body.dump();
      return res.statusCode;
    };
    expect(await get('/metrics', 'bearer ops-token-0123456789')).toBe(200);
    expect(await get('/metrics', 'BEARER ops-token-0123456789')).toBe(200);
    expect(await get('/metrics', 'Bearer OPS-TOKEN-0123456789')).toBe(401);
    expect(await get('/metrics')).toBe(401);
    expect(await get('/healthz?x=1')).toBe(200);
    expect(await get('/readyz?x=1')).toBe(401);
  });

  it('an idle client is disconnected', async () => {
    server = make('127.0.0.1', 0);
    await server.start();
    const socket = connect(server.address.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    await once(socket, 'close');
  });
});
