import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessTokenProvider } from '../../../src/appliance/api/access-token.js';
import { CommandApiClient } from '../../../src/appliance/api/command-api.js';
import type { Clock } from '../../../src/platform/clock.js';
import { Secret } from '../../../src/platform/secret.js';
import { checkHealthXml } from '../../../src/simulators/appliance/sim-command-api.js';

const ORIGIN = 'https://access.example.com';
const HEALTH = checkHealthXml({
  applianceId: 'a1',
  hostname: 'access.example.com',
  version: '25.1.2',
  healthy: true,
  failoverRole: 'primary',
});

/** Tokens from a list; records what was invalidated. */
class ListTokens implements AccessTokenProvider {
  invalidated: string[] = [];
  constructor(private readonly values: string[]) {}
  async token(): Promise<Secret> {
    return new Secret(this.values[0] as string);
  }
  invalidate(rejected: Secret): void {
    this.invalidated.push(rejected.reveal());
    if (this.values[0] === rejected.reveal()) this.values.shift();
  }
}

describe('CommandApiClient on the HTTP edge', () => {
  let agent: MockAgent;
  const sleeps: number[] = [];
  const clock: Clock = { now: () => Date.UTC(2026, 0, 1), sleep: async (ms) => void sleeps.push(ms) };
  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    sleeps.length = 0;
  });
  afterEach(() => agent.close());

  const client = (tokens: AccessTokenProvider) =>
    new CommandApiClient({ baseUrl: ORIGIN, site: 'corp', tokens, dispatcher: agent, clock, random: () => 0.5 });
  const route = () => agent.get(ORIGIN).intercept({ path: '/api/command?action=check_health', method: 'GET' });

  it('retries a 503 after its Retry-After and a reset connection, then answers', async () => {
    route().reply(503, 'busy', { headers: { 'retry-after': '1' } });
    route().replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    route().reply(200, HEALTH);
    expect(await client(new ListTokens(['t1'])).checkHealth()).toMatchObject({ failoverRole: 'primary' });
    expect(sleeps).toEqual([1000, 250]);
  });

  it('gives up after its retries with appliance.unavailable carrying the status', async () => {
    route().reply(502, 'bad gateway').times(3);
    await expect(client(new ListTokens(['t1'])).checkHealth()).rejects.toMatchObject({
      code: 'appliance.unavailable',
      details: { status: 502 },
    });
    expect(sleeps).toHaveLength(2);
  });

  it('re-mints once on 401 through withBearer; a second 401 is appliance.auth_failed', async () => {
    const tokens = new ListTokens(['stale', 'fresh']);
    route().reply(401, '').times(1);
    route().reply(200, HEALTH);
    await client(tokens).checkHealth();
    expect(tokens.invalidated).toEqual(['stale']);
    const refused = new ListTokens(['a', 'b', 'c']);
    route().reply(401, '').times(2);
    await expect(client(refused).checkHealth()).rejects.toMatchObject({ code: 'appliance.auth_failed' });
    expect(refused.invalidated).toEqual(['a', 'b']);
    expect(sleeps).toEqual([]);
  });
});
