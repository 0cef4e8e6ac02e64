import { describe, expect, it } from 'vitest';
import type { RequestHandler } from '../../../src/appliance/appliance-link.js';
import { relayHandler } from '../../../src/appliance/request-relay.js';
import type { ServiceError } from '../../../src/platform/errors.js';

describe('relayHandler', () => {
  it('forwards to the current handler (its per-site view), and undeliverable leases too', async () => {
    const seen: string[] = [];
    const broker: RequestHandler = {
      handle: async () => ({ released: true }) as never,
      forSite: (site) => ({ handle: async () => (seen.push(`handle@${site}`), { released: true }) as never }),
      undeliverable: async (leaseId) => void seen.push(`checkin ${leaseId}`),
    };
    let current: RequestHandler | undefined = broker;
    const relay = relayHandler(() => current, 'corp');
    await relay.handle(
      'credentials.release',
      { user: { username: 'u' } },
      { leaseId: 'l1' },
      new AbortController().signal,
    );
    await relay.undeliverable?.('l9');
    expect(seen).toEqual(['handle@corp', 'checkin l9']);

    current = undefined;
    const err = await relay
      .handle('credentials.list', { user: { username: 'u' } }, {}, new AbortController().signal)
      .catch((e: ServiceError) => e);
    expect((err as ServiceError).code).toBe('service.shutting_down');
    await expect(relay.undeliverable?.('l10')).resolves.toBeUndefined();
  });
});
