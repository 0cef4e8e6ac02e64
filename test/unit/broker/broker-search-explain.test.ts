import { renderExplainReport } from '../../../src/broker/explain-render.js';
import { describe, expect, it } from 'vitest';
import { NO_JUMPOINT_COMMENT } from '../../../src/broker/jump-search.js';
import type { ServiceError } from '../../../src/platform/errors.js';
import { brokerHarness, ctx, PASSWORD } from './broker-fixture.js';
import { toWireError } from '../../../src/appliance/channel/wire-errors.js';

function withSystems(tweak?: (yaml: string) => string) {
  const h = brokerHarness(tweak ? { tweak } : {});
  h.vault.grantSystems(
    'jdoe@corp.example.com',
    {
      systemId: 10,
      name: 'web01',
      hostname: 'web01.corp.example.com',
      ip: '10.0.4.17',
      method: 'rdp',
      port: 3389,
      workgroup: 'CORP',
    },
    { systemId: 13, name: 'web02', hostname: 'web02.dmz.example.com', method: 'ssh', port: 22, workgroup: 'DMZ' },
    { systemId: 14, name: 'web03', hostname: 'web03', method: 'ssh' },
    ...Array.from({ length: 8 }, (_, i) => ({
      systemId: 100 + i,
      name: `lab-web-${i}`,
      hostname: `lab${i}`,
      method: 'rdp' as const,
      workgroup: 'CORP',
    })),
  );
  return h;
}

describe('Broker: jump.search', () => {
  it('searches as the mapped vault user and adds network id and the missing-Jumpoint comment', async () => {
    const h = withSystems();
    const { items } = await h.broker.handle('jump.search', ctx(), { query: 'WEB0', limit: 10 }, h.signal);
    expect(items).toEqual([
      {
        id: '10',
        name: 'web01',
        hostname: 'web01.corp.example.com',
        ip: '10.0.4.17',
        method: 'rdp',
        port: 3389,
        networkId: 'CORP',
      },
      {
        id: '13',
        name: 'web02',
        hostname: 'web02.dmz.example.com',
        method: 'ssh',
        port: 22,
        networkId: 'DMZ',
        comment: NO_JUMPOINT_COMMENT,
      },
      { id: '14', name: 'web03', hostname: 'web03', method: 'ssh', comment: NO_JUMPOINT_COMMENT },
    ]);
    expect(h.vault.calls.at(-1)).toEqual({ method: 'searchSystems', vaultUser: 'jdoe@corp.example.com' });
  });

  it('follows "Jumpoint for External Jump Item Sessions": auto matches the Network ID, a named Jumpoint takes all', async () => {
    const search = async (settings: string) => {
      const h = withSystems((y) =>
        y.replace(
          'search: { maxQueryLength: 16, maxLimit: 5, jumpoints: { CORP: corp-jumpoint } }',
          `search: ${settings}`,
        ),
      );
      const { items } = await h.broker.handle('jump.search', ctx(), { query: 'WEB0', limit: 10 }, h.signal);
      return items.map((i) => [i.name, i.comment]);
    };
    // The appliance's default, with no table: every item with a Network ID has a Jumpoint.
    expect(await search('{}')).toEqual([
      ['web01', undefined],
      ['web02', undefined],
      ['web03', NO_JUMPOINT_COMMENT],
    ]);
    // One Jumpoint chosen in /login serves every External Jump Item.
    expect(await search('{ externalJumpoint: DC-East Jumpoint }')).toEqual([
      ['web01', undefined],
      ['web02', undefined],
      ['web03', undefined],
    ]);
  });

  it('caps the limit, refuses long queries and treats the query as plain text', async () => {
    const h = withSystems();
    expect((await h.broker.handle('jump.search', ctx(), { query: 'lab', limit: 50 }, h.signal)).items).toHaveLength(5);
    expect((await h.broker.handle('jump.search', ctx(), { query: 'lab' }, h.signal)).items).toHaveLength(5);
    expect((await h.broker.handle('jump.search', ctx(), { query: 'web.*' }, h.signal)).items).toEqual([]);
    const long = await h.broker
      .handle('jump.search', ctx(), { query: 'x'.repeat(17) }, h.signal)
      .catch((e: ServiceError) => e);
    expect(toWireError(long as ServiceError)).toEqual({
      code: 'bad_request',
      message: 'The search text is longer than 16 characters',
      retryable: false,
    });
    const bad = await h.broker
      .handle('jump.search', ctx(), { query: 'a', limit: 0 }, h.signal)
      .catch((e: ServiceError) => e);
    expect((bad as ServiceError).code).toBe('request.bad');
    const none = await h.broker.handle('jump.search', ctx(), {} as never, h.signal).catch((e: ServiceError) => e);
    expect((none as ServiceError).message).toBe('request.params.query is missing');
    expect(h.vault.calls.filter((c) => c.method === 'searchSystems')).toHaveLength(3);
  });

  it('refuses an unmapped or denied console user before asking the vault', async () => {
    const h = withSystems();
    const e = await h.broker
      .handle('jump.search', ctx({ user: { username: 'CORP\\ext-x' } }), { query: 'web' }, h.signal)
      .catch((x: ServiceError) => x);
    expect(toWireError(e as ServiceError).code).toBe('forbidden');
    expect(h.vault.calls).toEqual([]);
  });
});

describe('Broker.explain for an unmapped user', () => {
  it('prints the rule to add, and no configuration in the result line', async () => {
    const h = brokerHarness();
    const input = { user: { username: 'jdoe' }, endpoint: { hostname: 'web01' } };
    const text = renderExplainReport(input, await h.broker.explain(input));
    expect(text).toContain(
      '  => no vault user (userMapping.default is deny)\n' +
        '  hint: no user-mapping rule matched jdoe; add e.g. `- { name: users-without-domain, match: { domain: "" }, ' +
        'transform: { domain: to-upn, upnSuffix: corp.example.com } }` to userMapping.rules',
    );
    expect(text).toMatch(/\nResult: REFUSED \[mapping\.unmapped\] No user-mapping rule matches console user "jdoe"\n$/);
  });
});

describe('Broker.explain (test-settings)', () => {
  it('reports trace, target, vault accounts, dropped accounts, offers and policies', async () => {
    const h = brokerHarness();
    const r = await h.broker.explain({
      user: ctx().user,
      endpoint: { hostname: 'WEB01', ip: '[2001:db8::1]:3389' },
      jumpGroup: 'Web servers',
    });
    expect(r.mapping).toMatchObject({ outcome: 'mapped', vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' });
    expect(r.target).toMatchObject({ names: ['web01', 'web01-legacy'], ips: ['2001:db8::1'] });
    expect(r.accounts?.map((a) => a.accountName)).toEqual(['Administrator', 'svc-web', 'root', 'dmz-admin']);
    expect(r.dropped).toEqual(['dmz-admin on web01: workgroup DMZ not allowed for Jump Group "Web servers"']);
    expect(r.offered.map((o) => o.displayName)).toEqual([
      'Administrator (web01)',
      'root (web01-legacy)',
      'CORP\\svc-web (domain account)',
    ]);
    expect(r.policies).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(h.vault.requests.size).toBe(0);
  });

  it('with checkout: checks out the first credential and checks it straight in, never exposing the secret', async () => {
    const h = brokerHarness();
    const r = await h.broker.explain({ user: ctx().user, endpoint: { hostname: 'web01' }, checkout: true });
    expect(r.checkout).toMatchObject({
      credential: 'Administrator (web01)',
      vaultRequestId: '1000',
      received: ['password'],
      checkedIn: true,
    });
    expect(h.vault.requests.get('1000')?.checkedIn).toBe(true);
    expect(JSON.stringify(r)).not.toContain(PASSWORD);
  });

  it('explains refusals instead of throwing: deny rule, policy verdicts, no accounts', async () => {
    const h = brokerHarness();
    const denied = await h.broker.explain({ user: { username: 'ext-bob' }, endpoint: { hostname: 'web01' } });
    expect(denied.error).toEqual({
      code: 'mapping.denied',
      message:
        'Credential injection refused by mapping rule "contractors-denied": External accounts cannot receive injected credentials',
    });
    const prod = await h.broker.explain({ user: ctx().user, endpoint: { hostname: 'web01' }, jumpGroup: 'Production' });
    expect(prod.policies).toEqual([
      { policy: 'production-needs-ticket', ok: false, detail: 'an External Key matching ^CHG-\\d+$ is required' },
    ]);
    expect(prod.error?.code).toBe('policy.denied');
    expect(h.vault.requests.size).toBe(0);
    const nothing = await h.broker.explain({ user: ctx().user, endpoint: { hostname: 'ghost' } });
    expect(nothing.accounts).toEqual([]);
    expect(nothing.offered).toEqual([]);
    expect(nothing.error).toBeUndefined();
  });
});
