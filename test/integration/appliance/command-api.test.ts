import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessTokenProvider } from '../../../src/appliance/api/access-token.js';
import { CommandApiClient } from '../../../src/appliance/api/command-api.js';
import { OAuthTokenSource } from '../../../src/appliance/api/token-source.js';
import { systemClock } from '../../../src/platform/clock.js';
import { createHttpAgent } from '../../../src/platform/http-agent.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { Secret } from '../../../src/platform/secret.js';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { rejection } from '../../helpers/rejection.js';
import { ECM_ACCOUNT, writeCa } from './harness.js';

describe('Command API client over a real socket', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  beforeAll(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT] });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterAll(async () => sim.stop());

  it('fails fast on a token HTTP headers cannot carry, and leaks no connection slot', async () => {
    // One connection: a request that kept its slot would leave every later one waiting.
    const dispatcher = createHttpAgent({ connectTimeoutMs: 2000, requestTimeoutMs: 3000, caFile, connections: 1 });
    const sleeps: number[] = [];
    const clock = { now: () => Date.now(), sleep: async (ms: number) => void sleeps.push(ms) };
    const client = (tokens: AccessTokenProvider) =>
      new CommandApiClient({ baseUrl: sim.url, site: 'sim', tokens, dispatcher, clock });
    const broken = { token: async () => new Secret('\u7528\u6237'), invalidate: () => undefined };
    try {
      for (let i = 0; i < 20; i++) {
        const e = await rejection(client(broken).checkHealth());
        expect(e.code).toBe('appliance.protocol');
        expect(e.details?.code).toBe('UND_ERR_INVALID_ARG');
      }
      expect(sleeps).toEqual([]);
      const tokens = new OAuthTokenSource({
        baseUrl: sim.url,
        clientId: ECM_ACCOUNT.clientId,
        clientSecret: new Secret(ECM_ACCOUNT.clientSecret as string),
        dispatcher,
        clock: systemClock,
        log: silentLogger(),
        site: 'sim',
      });
      const healths = await Promise.all([client(tokens).checkHealth(), client(tokens).checkHealth()]);
      expect(healths.map((h) => h.success)).toEqual([true, true]);
    } finally {
      await dispatcher.close();
    }
  });
});
