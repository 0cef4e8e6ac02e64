import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OpsServer } from '../../../src/http/ops-server.js';
import { Counter, createMetricsRegistry } from '../../../src/platform/metrics.js';
import { Readiness } from '../../../src/platform/readiness.js';
import { ServiceError } from '../../../src/platform/errors.js';
import { exportReadiness } from '../../../src/platform/readiness-metrics.js';
import { Secret } from '../../../src/platform/secret.js';
import { captureLogger } from '../../helpers/log-capture.js';

let server: OpsServer | undefined;
afterEach(async () => server?.stop());

async function start(token?: string) {
  const readiness = new Readiness();
  const metrics = createMetricsRegistry();
  new Counter({ name: 'ecm_bridge_test_total', help: 'test counter', registers: [metrics] }).inc(3);
  exportReadiness(metrics, readiness);
  server = new OpsServer(
    { host: '127.0.0.1', port: 0, ...(token ? { auth: { token: new Secret(token) } } : {}) },
    { log: captureLogger().log, metrics, readiness },
  );
  await server.start();
  const base = `http://127.0.0.1:${server.address.port}`;
  return { readiness, base };
}

describe('ops server over a real listen', () => {
  it('answers /healthz, /readyz per component and /metrics in Prometheus text', async () => {
    const { readiness, base } = await start();
    let storeReady = false;
    readiness.register('store', () =>
      storeReady ? { ready: true } : { ready: false, reason: 'connecting to database' },
    );
    readiness.register('site:corp', () => ({ ready: true, reason: 'connected (active)' }));

    const health = await request(`${base}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.json()).toEqual({ status: 'ok' });

    const notReady = await request(`${base}/readyz`);
    expect(notReady.statusCode).toBe(503);
    const body = (await notReady.body.json()) as { components: Record<string, { ready: boolean; reason?: string }> };
    expect(body.components.store).toEqual({ ready: false, critical: true, reason: 'connecting to database' });
    expect(body.components['site:corp']?.ready).toBe(true);

    storeReady = true;
    expect((await request(`${base}/readyz`)).statusCode).toBe(200);

    const metrics = await request(`${base}/metrics`);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    const text = await metrics.body.text();
    expect(text).toContain('ecm_bridge_test_total 3');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('a non-critical component that is not ready shows in the body and metrics while /readyz stays 200', async () => {
    const { readiness, base } = await start();
    readiness.register('vault', () => ({ ready: true }));
    readiness.register('reporting', () => ({ ready: false, reason: 'site corp: [store.unavailable] down' }), {
      critical: false,
    });
    const res = await request(`${base}/readyz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({
      status: 'ready',
      ready: true,
      components: {
        vault: { ready: true, critical: true },
        reporting: { ready: false, critical: false, reason: 'site corp: [store.unavailable] down' },
      },
    });
    const text = await (await request(`${base}/metrics`)).body.text();
    expect(text).toContain('ecm_bridge_ready 1');
    expect(text).toContain('ecm_bridge_component_ready{component="vault",critical="true"} 1');
    expect(text).toContain('ecm_bridge_component_ready{component="reporting",critical="false"} 0');
    readiness.register('vault', () => ({ ready: false, reason: 'unreachable' }));
    expect((await request(`${base}/readyz`)).statusCode).toBe(503);
    expect(await (await request(`${base}/metrics`)).body.text()).toContain('ecm_bridge_ready 0');
  });

  it('a critical component that still serves part of its work makes /readyz "degraded" (503), not "not ready"', async () => {
    const { readiness, base } = await start();
    readiness.register('site:corp', () => ({ ready: true, reason: 'connected (active)' }));
    readiness.register('store', () => ({
      ready: false,
      degraded: true,
      reason: 'store unavailable: credentials.list serving, get and release answered retryable',
    }));
    const res = await request(`${base}/readyz`);
    expect(res.statusCode).toBe(503);
    expect(await res.body.json()).toMatchObject({
      status: 'degraded',
      ready: false,
      degraded: true,
      components: { store: { ready: false, degraded: true, critical: true } },
    });
    // A component that is down (not degraded) beside it: the process is not ready.
    readiness.register('vault', () => ({ ready: false, reason: 'unreachable' }));
    const down = (await (await request(`${base}/readyz`)).body.json()) as Record<string, unknown>;
    expect(down).toMatchObject({ status: 'not ready', ready: false });
    expect(down.degraded).toBeUndefined();
  });

  it('shows a failure in the one health shape: its message as the reason, its code as `code`', async () => {
    const { readiness, base } = await start();
    readiness.register('vault', () => ({
      ready: false,
      failure: new ServiceError('vault.unavailable', 'Password Safe unavailable (HTTP 502) after 3 attempts', {
        cause: new Error('inner detail'),
      }),
    }));
    const res = await request(`${base}/readyz`);
    expect(res.statusCode).toBe(503);
    const body = (await res.body.json()) as { components: Record<string, unknown> };
    expect(body.components.vault).toEqual({
      ready: false,
      critical: true,
      reason: 'Password Safe unavailable (HTTP 502) after 3 attempts',
      code: 'vault.unavailable',
    });
    expect(JSON.stringify(body)).not.toContain('inner detail');
  });

  it('reports a throwing probe as not ready instead of failing the endpoint', async () => {
    const { readiness, base } = await start();
    readiness.register('vault', () => {
      throw new Error('boom');
    });
    const res = await request(`${base}/readyz`);
    expect(res.statusCode).toBe(503);
    expect(
      ((await res.body.json()) as { components: Record<string, { reason: string }> }).components.vault?.reason,
    ).toContain('boom');
  });

  it('requires the bearer token on every route but /healthz when auth is configured', async () => {
    const { base } = await start('ops-token-123456');
    expect((await request(`${base}/healthz`)).statusCode).toBe(200);
    const denied = await request(`${base}/metrics`);
    expect(denied.statusCode).toBe(401);
    expect(await denied.body.text()).not.toContain('ops-token');
    expect((await request(`${base}/readyz`, { headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect(
      (await request(`${base}/metrics`, { headers: { authorization: 'Bearer ops-token-123456' } })).statusCode,
    ).toBe(200);
  });
});
