import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectProxy, type ConnectProxy } from '../../helpers/connect-proxy.js';
import { DEMO_KEY, JDOE, startHarness, WEB01, type Harness } from './ps-harness.js';

describe('Password Safe through an authenticating CONNECT proxy (real sockets)', () => {
  let h: Harness;
  let proxy: ConnectProxy;
  beforeAll(async () => {
    h = await startHarness();
    // The harness resolves one env secret (PS_KEY): the proxy password is that reference.
    proxy = await startConnectProxy({ username: 'bridge', password: DEMO_KEY });
  });
  afterAll(async () => {
    await proxy.close();
    await h.close();
  });

  it('lists accounts through the tunnel; a wrong password is refused with 407; no secret in the logs', async () => {
    const v = h.vault({ proxy: { url: proxy.url, username: 'bridge', password: 'env:PS_KEY' } });
    expect((await v.listAccounts(JDOE, WEB01)).length).toBeGreaterThan(0);
    expect(proxy.tunnels).toContain(new URL(h.sim.url).host);
    const wrong = h.vault({
      proxy: { url: proxy.url, username: 'bridge', password: 'literal-wrong-proxy-pw' },
      retries: { max: 0, baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(wrong.listAccounts(JDOE, WEB01)).rejects.toThrow();
    expect(proxy.refused).toBeGreaterThan(0);
    expect(h.logs.text).not.toContain(DEMO_KEY);
    expect(h.logs.text).not.toContain('literal-wrong-proxy-pw');
  });
});
