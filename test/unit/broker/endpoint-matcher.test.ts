import { describe, expect, it } from 'vitest';
import { EndpointMatcher, normaliseIp } from '../../../src/broker/endpoint-matcher.js';
import { endpointMatchingSchema } from '../../../src/broker/broker-config.js';
import type { VaultAccount } from '../../../src/vault/vault-port.js';

const matcher = new EndpointMatcher(
  endpointMatchingSchema.parse({
    aliases: { WEB01: ['web01-legacy'], '10.0.9.9': ['db-vip'] },
    preferSources: ['domain-linked', 'local'],
    jumpGroups: [
      { jumpGroup: 'Web servers', workgroups: ['CORP'], sources: ['local'] },
      { jumpGroup: 'Mixed', preferSources: ['local', 'domain-linked'] },
    ],
  }),
);

describe('EndpointMatcher.target', () => {
  it.each([
    ['IPv4 with port', { ip: '10.0.4.17:3389' }, [], ['10.0.4.17']],
    ['IPv6 with port in brackets', { ip: '[2001:db8::1]:22' }, [], ['2001:db8::1']],
    ['IPv6 long form, upper case', { ip: '2001:DB8:0:0:0:0:0:1' }, [], ['2001:db8::1']],
    ['IPv6 bracketed without port', { ip: '[2001:db8::1]' }, [], ['2001:db8::1']],
    ['IPv4-mapped IPv6', { ip: '::ffff:10.0.4.17' }, [], ['10.0.4.17']],
    ['IPv6 link-local with zone', { ip: 'fe80::1%eth0' }, [], ['fe80::1']],
    ['FQDN gives its short name', { fqdn: 'Web02.Corp.Example.com' }, ['web02.corp.example.com', 'web02'], []],
    [
      'short hostname and FQDN, trailing dot',
      { hostname: 'WEB02', fqdn: 'web02.corp.example.com.' },
      ['web02', 'web02.corp.example.com'],
      [],
    ],
    ['hostname with a port', { hostname: 'web03:22' }, ['web03'], []],
    ['an IP reported as hostname counts as IP', { hostname: '10.0.4.18' }, [], ['10.0.4.18']],
    ['alias by name (case-insensitive key)', { hostname: 'web01' }, ['web01', 'web01-legacy'], []],
    ['alias by IP', { ip: '10.0.9.9:1433' }, ['db-vip'], ['10.0.9.9']],
  ])('%s', (_name, endpoint, names, ips) => {
    const t = matcher.target(endpoint);
    expect(t.names).toEqual(names);
    expect(t.ips).toEqual(ips);
  });

  it('notes an unusable IP instead of sending it to the vault', () => {
    const t = matcher.target({ hostname: 'web01', ip: 'not-an-ip' });
    expect(t.ips).toEqual([]);
    expect(t.notes).toEqual(['ignored ip "not-an-ip": not an IPv4/IPv6 address']);
  });

  it('normaliseIp rejects garbage and keeps canonical forms stable', () => {
    expect(normaliseIp('999.1.1.1')).toBeUndefined();
    expect(normaliseIp('[::1]:80')).toBe('::1');
    expect(normaliseIp(normaliseIp('2001:0db8::0001') ?? '')).toBe('2001:db8::1');
  });
});

const acct = (
  accountId: number,
  source: VaultAccount['source'],
  workgroup: string,
  systemName = 'web01',
): VaultAccount => ({
  systemId: 1,
  systemName,
  accountId,
  accountName: `a${accountId}`,
  source,
  kind: 'password',
  workgroup,
});

describe('EndpointMatcher.narrow', () => {
  const accounts = [
    acct(1, 'local', 'CORP'),
    acct(2, 'domain-linked', 'CORP'),
    acct(3, 'local', 'DMZ'),
    acct(4, 'local', 'corp', 'web01-legacy'),
  ];
  const target = matcher.target({ hostname: 'web01' });

  it('orders by the preferred sources, keeping vault order within a source', () => {
    expect(matcher.narrow(accounts, target, undefined).map((a) => a.accountId)).toEqual([2, 1, 3, 4]);
  });

  it('applies a Jump Group restriction (workgroups, sources) and says why accounts were dropped', () => {
    const why: string[] = [];
    expect(matcher.narrow(accounts, target, 'web servers', (l) => why.push(l)).map((a) => a.accountId)).toEqual([1, 4]);
    expect(why).toEqual([
      'a2 on web01: domain-linked accounts not allowed for Jump Group "Web servers"',
      'a3 on web01: workgroup DMZ not allowed for Jump Group "Web servers"',
    ]);
  });

  it("uses a Jump Group's own preference order and flags accounts found through an alias", () => {
    const out = matcher.narrow(accounts, target, 'Mixed');
    expect(out.map((a) => a.accountId)).toEqual([1, 3, 4, 2]);
    expect(out.find((a) => a.accountId === 4)?.viaAlias).toBe(true);
    expect(out.find((a) => a.accountId === 1)?.viaAlias).toBe(false);
  });
});

describe('EndpointMatcher with malformed input from the appliance', () => {
  it('ignores non-string fields instead of failing', () => {
    const t = matcher.target({ hostname: 42 as never, fqdn: null as never, ip: { x: 1 } as never });
    expect(t).toMatchObject({ names: [], ips: [] });
  });
});
