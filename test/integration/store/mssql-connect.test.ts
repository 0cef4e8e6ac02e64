import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/platform/clock.js';
import { isServiceError } from '../../../src/platform/errors.js';
import { createLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { Secret } from '../../../src/platform/secret.js';
import { openStore } from '../../../src/app/open-store.js';
import { storeCheck } from '../../../src/app/checks/store-check.js';

const PASSWORD = 'Sup3r-Secret-Db-Pw!';

/**
 * Connection failures against a real socket (no SQL Server needed): a TCP server on 127.0.0.1
 * that accepts and immediately hangs up, as a wrong port or a dying server does.
 */
describe('SQL Server adapter: connection failures', () => {
  let server: Server;
  let port = 0;
  let logged = '';
  const log = createLogger(
    { level: 'trace' },
    new Writable({
      write(chunk, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    }),
  );
  const store = () => ({
    kind: 'mssql' as const,
    server: '127.0.0.1',
    port,
    database: 'BGSessions',
    user: 'ecm_bridge',
    password: new Secret(PASSWORD, 'env:BGSESSIONS_PASSWORD'),
    encrypt: false,
    pool: { max: 2, idleTimeoutMs: 1000 },
    requestTimeoutMs: 2000,
  });

  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('openStore fails with store.unavailable naming server, database and user, never the password', async () => {
    const err = await openStore(store(), { log, metrics: createMetricsRegistry({ defaultMetrics: false }) }).catch(
      (e: unknown) => e,
    );
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect((err as Error).message).toContain(
      `cannot connect to SQL Server 127.0.0.1:${port} database BGSessions as ecm_bridge`,
    );
    expect(JSON.stringify(err)).not.toContain(PASSWORD);
    expect((err as Error).message).not.toContain(PASSWORD);
    log.error({ err }, 'store open failed'); // what serve would log
    expect(logged).toContain('store open failed');
    expect(logged).not.toContain(PASSWORD);
  });

  it('a missing CA bundle is a clear store.unavailable, not a crash', async () => {
    const err = await openStore(
      { ...store(), caFile: '/nonexistent/sql-ca.pem' },
      { log, metrics: createMetricsRegistry({ defaultMetrics: false }) },
    ).catch((e: unknown) => e);
    expect(isServiceError(err, 'store.unavailable')).toBe(true);
    expect((err as Error).message).toBe('cannot read store.caFile /nonexistent/sql-ca.pem: ENOENT');
  });

  it('`check` reports the failure with a fix and without the password', async () => {
    const rt = {
      log,
      metrics: createMetricsRegistry({ defaultMetrics: false }),
      readiness: new Readiness(),
      clock: systemClock,
      instanceId: 'test',
    };
    const result = await storeCheck(store(), rt).run(AbortSignal.timeout(10_000));
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('[store.unavailable] cannot connect to SQL Server');
    expect(result.fix).toContain('store.server/port/database/user/password');
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    expect(logged).not.toContain(PASSWORD);
  });
});
