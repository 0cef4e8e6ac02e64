import { describe, expect, it } from 'vitest';
import { bypassesProxy, proxySchema } from '../../../src/platform/config/proxy-field.js';
import { withSecretEnv } from '../../../src/platform/config/secret-ref.js';

const env = { env: { P: 'pw' }, allowLiterals: false, readFile: () => '', baseDir: '.' };

describe('proxy settings', () => {
  it('matches no-proxy entries by host, domain, port and *', () => {
    const u = new URL('https://node1.access.example.com:8443');
    expect(bypassesProxy(u, ['node1.access.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['*.access.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['node1.access.example.com:8443'])).toBe(true);
    expect(bypassesProxy(u, ['node1.access.example.com:443'])).toBe(false);
    expect(bypassesProxy(u, ['ample.com', 'access.example.co'])).toBe(false);
    expect(bypassesProxy(new URL('https://example.com'), ['.example.com'])).toBe(true);
    expect(bypassesProxy(u, ['*'])).toBe(true);
  });

  it('takes the password as a secret reference and wants username and password together', () => {
    const ok = withSecretEnv(env, () =>
      proxySchema.safeParse({ url: 'http://proxy.corp:3128', username: 'u', password: 'env:P' }),
    );
    expect(ok.success && ok.data.password?.reveal()).toBe('pw');
    const half = withSecretEnv(env, () => proxySchema.safeParse({ url: 'http://proxy.corp:3128', username: 'u' }));
    expect(half.success).toBe(false);
    expect(JSON.stringify(half.error?.issues)).toContain('username and password go together');
    const path = withSecretEnv(env, () => proxySchema.safeParse({ url: 'http://proxy.corp:3128/x' }));
    expect(path.success).toBe(false);
  });
});
