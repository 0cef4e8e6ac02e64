import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adminSocketPath, RunningBridge } from '../../../src/app/admin-client.js';
import { AdminServer, type AdminHandlers } from '../../../src/http/admin-server.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { until } from '../../helpers/until.js';

/** A handler whose `slow` op runs until it is cancelled, recording why. */
function slowHandlers() {
  const seen = { aborted: undefined as string | undefined, started: false };
  const handlers: AdminHandlers = {
    hello: () => ({ pid: 4242, version: '0.0.0' }),
    stream: async (op, body, emit, signal) => {
      if (op === 'echo') return { event: 'done', body };
      seen.started = true;
      emit({ event: 'progress', done: 1 });
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      seen.aborted = (signal.reason as Error).message;
      throw signal.reason;
    },
  };
  return { seen, handlers };
}

describe('admin socket', () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'ecm-adm-')), 'pglite');
  const storeConfig = { kind: 'embedded' as const, dataDir };
  let server: AdminServer | undefined;
  afterEach(async () => server?.stop());

  it('no socket, or a stale one nobody listens on, means no running bridge', async () => {
    expect(await RunningBridge.find(storeConfig)).toBeUndefined();
    writeFileSync(adminSocketPath(dataDir), ''); // left by a killed serve
    expect(await RunningBridge.find(storeConfig)).toBeUndefined();
    expect(await RunningBridge.find({ kind: 'embedded', dataDir: 'memory://' })).toBeUndefined();
  });

  it('replaces a stale socket file, answers hello and returns an op result', async () => {
    const { handlers } = slowHandlers();
    server = new AdminServer(adminSocketPath(dataDir), handlers, silentLogger());
    await server.start();
    const bridge = await RunningBridge.find(storeConfig);
    expect(bridge?.pid).toBe(4242);
    expect(await bridge!.run('echo', { a: 1 }, () => {})).toEqual({ event: 'done', body: { a: 1 } });
  });

  it('Ctrl-C: the command asks the bridge to cancel and gets the cancellation once the op stopped', async () => {
    const { seen, handlers } = slowHandlers();
    server = new AdminServer(adminSocketPath(dataDir), handlers, silentLogger());
    await server.start();
    const bridge = (await RunningBridge.find(storeConfig))!;
    const abort = new AbortController();
    const events: unknown[] = [];
    const run = bridge.run(
      'slow',
      {},
      (e) => {
        events.push(e);
        abort.abort();
      },
      abort.signal,
    );
    await expect(run).rejects.toMatchObject({ code: 'service.shutting_down', message: 'cancelled by the operator' });
    expect(seen.aborted).toBe('cancelled by the operator');
    expect(events).toEqual([{ event: 'progress', done: 1 }]);
  });

  it('a command that goes away (killed) cancels its op', async () => {
    const { seen, handlers } = slowHandlers();
    server = new AdminServer(adminSocketPath(dataDir), handlers, silentLogger());
    await server.start();
    const req = request({ socketPath: adminSocketPath(dataDir), method: 'POST', path: '/v1/slow' });
    req.end('{}');
    await until(() => seen.started, 'the op to start');
    req.destroy();
    await until(() => seen.aborted !== undefined, 'the op to be cancelled');
    expect(seen.aborted).toBe('the command went away');
  });

  it('refuses an oversized body before reading it whole, and unknown routes', async () => {
    const { handlers } = slowHandlers();
    server = new AdminServer(adminSocketPath(dataDir), handlers, silentLogger());
    await server.start();
    const send = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ socketPath: adminSocketPath(dataDir), method, path }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const big = await send('POST', '/v1/echo', 'x'.repeat(10_000));
    expect(big.status).toBe(400);
    expect(big.text).toContain('request body over 4096 bytes');
    expect((await send('POST', '/v1/echo', '{nope')).text).toContain('not JSON');
    expect((await send('GET', '/v1/../../etc')).status).toBe(404);
    expect((await send('DELETE', '/v1/jobs/99')).status).toBe(404);
  });
});
