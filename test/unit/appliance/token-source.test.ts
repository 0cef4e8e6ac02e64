import { getEventListeners } from 'node:events';
import { Writable } from 'node:stream';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OAuthTokenSource } from '../../../src/appliance/api/token-source.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { isServiceError } from '../../../src/platform/errors.js';
import { createLogger } from '../../../src/platform/logger.js';
import { Secret } from '../../../src/platform/secret.js';

const ORIGIN = 'https://access.example.com';

describe('OAuthTokenSource', () => {
  let agent: MockAgent;
  let clock: ManualClock;
  let lines: string[];
  let minted: number;
  let source: OAuthTokenSource;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    clock = new ManualClock();
    lines = [];
    minted = 0;
    const log = createLogger(
      { level: 'trace' },
      new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    );
    source = new OAuthTokenSource({
      baseUrl: ORIGIN,
      clientId: 'cid',
      clientSecret: new Secret('client-secret-value'),
      dispatcher: agent,
      clock,
      log,
      site: 'corp',
    });
  });
  afterEach(() => agent.close());

  const tokenReplies = (times = 10, expiresIn = 3600) =>
    agent
      .get(ORIGIN)
      .intercept({ path: '/oauth2/token', method: 'POST' })
      .reply((req) => {
        expect(req.headers).toMatchObject({
          authorization: `Basic ${Buffer.from('cid:client-secret-value').toString('base64')}`,
        });
        expect(req.body).toBe('grant_type=client_credentials');
        minted++;
        return {
          statusCode: 200,
          data: JSON.stringify({ access_token: `tok-${minted}-abcdefgh`, token_type: 'Bearer', expires_in: expiresIn }),
        };
      })
      .times(times);

  it('mints once for concurrent callers and reuses the token until 5 minutes before expiry', async () => {
    tokenReplies();
    const [a, b, c] = await Promise.all([source.token(), source.token(), source.token()]);
    expect(minted).toBe(1);
    expect(a.reveal()).toBe('tok-1-abcdefgh');
    expect(b).toBe(a);
    expect(c).toBe(a);
    await clock.advance(3300_000 - 1);
    expect((await source.token()).reveal()).toBe('tok-1-abcdefgh');
    await clock.advance(1);
    expect((await source.token()).reveal()).toBe('tok-2-abcdefgh');
    expect(minted).toBe(2);
  });

  it('refreshes at half the lifetime when tokens live less than 10 minutes', async () => {
    tokenReplies(10, 120);
    await source.token();
    await clock.advance(59_000);
    await source.token();
    expect(minted).toBe(1);
    await clock.advance(1_000);
    await source.token();
    expect(minted).toBe(2);
  });

  it('re-mints after invalidate of the current token, ignores a stale one', async () => {
    tokenReplies();
    const first = await source.token();
    source.invalidate(new Secret('some-older-token'));
    expect(await source.token()).toBe(first);
    source.invalidate(first);
    expect((await source.token()).reveal()).toBe('tok-2-abcdefgh');
  });

  it('maps 401 to appliance.auth_failed naming the account, 429 to unavailable with Retry-After', async () => {
    agent.get(ORIGIN).intercept({ path: '/oauth2/token', method: 'POST' }).reply(401, '{"error":"invalid_client"}');
    await expect(source.token()).rejects.toMatchObject({
      code: 'appliance.auth_failed',
      message: 'site corp: the appliance refused the OAuth client credentials of API account cid (401)',
    });
    agent
      .get(ORIGIN)
      .intercept({ path: '/oauth2/token', method: 'POST' })
      .reply(429, 'slow down', { headers: { 'retry-after': '7' } });
    const e = await source.token().catch((x: unknown) => x);
    expect(isServiceError(e, 'appliance.unavailable')).toBe(true);
    expect((e as { details: unknown }).details).toMatchObject({ status: 429, retryAfterMs: 7000 });
  });

  it('lets one caller abort its wait without cancelling the shared mint', async () => {
    tokenReplies();
    const ac = new AbortController();
    const aborted = source.token(ac.signal);
    const other = source.token();
    ac.abort(new Error('caller gone'));
    await expect(aborted).rejects.toThrow('caller gone');
    expect((await other).reveal()).toBe('tok-1-abcdefgh');
    expect(minted).toBe(1);
  });

  it('never logs the token or the client secret', async () => {
    tokenReplies();
    const t = await source.token();
    const all = lines.join('');
    expect(all).toContain('minted OAuth token');
    expect(all).not.toContain(t.reveal());
    expect(all).not.toContain('client-secret-value');
    expect(String(t)).toBe('[REDACTED]');
  });

  it("does not leave an abort listener on the caller's signal per mint", async () => {
    tokenReplies(20);
    const signal = new AbortController().signal;
    const before = getEventListeners(signal, 'abort').length;
    for (let i = 0; i < 20; i++) {
      const t = await source.token(signal);
      source.invalidate(t); // forces a fresh mint on the next call
    }
    expect(minted).toBe(20);
    expect(getEventListeners(signal, 'abort')).toHaveLength(before);
    // the listener also goes when the mint fails
    agent.get(ORIGIN).intercept({ path: '/oauth2/token', method: 'POST' }).reply(401, '{}');
    await expect(source.token(signal)).rejects.toMatchObject({ code: 'appliance.auth_failed' });
    expect(getEventListeners(signal, 'abort')).toHaveLength(before);
  });

  it('still rejects with the abort reason when the caller gives up', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/oauth2/token', method: 'POST' })
      .reply(200, JSON.stringify({ access_token: 'tok-x', expires_in: 3600 }))
      .delay(200);
    const ac = new AbortController();
    const p = source.token(ac.signal);
    ac.abort(new Error('caller gave up'));
    await expect(p).rejects.toThrow('caller gave up');
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const already = new AbortController();
    already.abort(new Error('already'));
    await expect(source.token(already.signal)).rejects.toThrow('already');
  });
});
