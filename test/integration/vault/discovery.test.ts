import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSeed, type SeedInput } from '../../../src/simulators/passwordsafe/seed.js';
import { ASMITH, DEMO_KEY, JDOE, startHarness, WEB01, type Harness } from './ps-harness.js';

describe('Password Safe adapter: discovery against the demo estate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());
  beforeEach(() => {
    h.sim.faults.clear();
    h.sim.resetCalls();
  });

  it('offers local and domain-linked accounts with workgroups, by name, DNS name or IP', async () => {
    const vault = h.vault();
    const list = await vault.listAccounts(JDOE, WEB01);
    expect(list.map((a) => `${a.source}:${a.systemName}/${a.accountName}`)).toEqual([
      'local:web01/Administrator',
      'local:web01/helpdesk-local',
      'domain-linked:corp.example.com/svc-web',
    ]);
    expect(list[2]).toMatchObject({ domainName: 'CORP', workgroup: 'CORP', systemId: 4, accountId: 401 });
    const byIp = await vault.listAccounts(JDOE, { names: [], ips: ['10.0.4.17'] });
    // By IP alone too: the system at that address comes from the vault (Assets), and with it the linked accounts.
    expect(byIp.map((a) => a.accountName)).toEqual(['Administrator', 'helpdesk-local', 'svc-web']);
    expect(byIp[0]!.workgroup).toBe('CORP');
    const byFqdn = await vault.listAccounts(JDOE, { names: ['APP02.dmz.example.com'], ips: [] });
    expect(byFqdn.map((a) => `${a.systemName}/${a.accountName}/${a.workgroup}`)).toEqual([
      'app02/Administrator/DMZ',
      'corp.example.com/svc-web/DMZ',
    ]);
  });

  it('shows each vault user only what their groups grant', async () => {
    const vault = h.vault();
    expect((await vault.listAccounts(ASMITH, WEB01)).map((a) => a.accountName)).toEqual(['helpdesk-local']);
    expect(await vault.listAccounts(ASMITH, { names: ['db01'], ips: [] })).toEqual([]);
  });

  it('does not match a different host that only shares the short name', async () => {
    const vault = h.vault();
    expect(await vault.listAccounts(JDOE, { names: ['web01.elsewhere.example.org'], ips: [] })).toEqual([]);
  });

  it('searches RDP and SSH systems by plain substring, with workgroup as network id', async () => {
    const vault = h.vault();
    expect(await vault.searchSystems(JDOE, 'WEB', 10)).toEqual([
      {
        systemId: 1,
        name: 'web01',
        hostname: 'web01.corp.example.com',
        ip: '10.0.4.17',
        method: 'rdp',
        port: 3389,
        workgroup: 'CORP',
      },
    ]);
    expect((await vault.searchSystems(JDOE, '10.0.5', 10)).map((s) => [s.name, s.method])).toEqual([['db01', 'ssh']]);
    expect((await vault.searchSystems(JDOE, '', 10)).map((s) => s.name)).toEqual(['app02', 'db01', 'web01']);
    expect(await vault.searchSystems(JDOE, '.*', 10)).toEqual([]);
    expect((await vault.searchSystems(JDOE, '', 2)).length).toBe(2);
    expect((await vault.searchSystems(ASMITH, '', 10)).map((s) => s.name)).toEqual(['web01']);
  });

  it('makes a fixed number of vault calls per list request, whatever the number of accounts (no N+1)', async () => {
    const seed: SeedInput = {
      platforms: [{ id: 1, name: 'Windows', shortName: 'WIN', defaultPort: 3389, sessionType: 'RDP' }],
      workgroups: [{ id: 1, name: 'CORP' }],
      groups: [{ name: 'All', grants: [{ workgroup: 'CORP' }] }],
      users: [{ name: 'ops@corp.example.com', groups: ['All'] }],
      registrations: [{ kind: 'apikey', name: 'k', key: DEMO_KEY, groups: ['All'] }],
      systems: [
        { name: 'big01', dnsName: 'big01.corp.example.com', ip: '10.1.0.1', platform: 'Windows', workgroup: 'CORP' },
        {
          name: 'small01',
          dnsName: 'small01.corp.example.com',
          ip: '10.1.0.2',
          platform: 'Windows',
          workgroup: 'CORP',
        },
      ],
      accounts: [
        ...Array.from({ length: 40 }, (_, i) => ({ system: 'big01', name: `svc${i}`, password: `pw-${i}-xxxxxxxx` })),
        { system: 'small01', name: 'Administrator', password: 'pw-small-xxxxxxx' },
      ],
    };
    const local = await startHarness(parseSeed(seed));
    try {
      const vault = local.vault({ cache: { discoveryTtlSeconds: 0 } });
      await vault.listAccounts('ops@corp.example.com', { names: ['warmup'], ips: [] }); // sign-in
      const count = async (name: string, ip: string) => {
        local.sim.resetCalls();
        const list = await vault.listAccounts('ops@corp.example.com', {
          names: [name, `${name}.corp.example.com`],
          ips: [ip],
        });
        return { accounts: list.length, calls: local.sim.calls() };
      };
      const big = await count('big01', '10.1.0.1');
      const small = await count('small01', '10.1.0.2');
      expect(big.accounts).toBe(40);
      expect(small.accounts).toBe(1);
      // 2 names (+1 derived short name, same as one given): per name local + linked + system lookup, 1 IP lookup, platforms, workgroups.
      expect(big.calls).toBe(small.calls);
      expect(big.calls).toBe(2 * 3 + 1 + 2);

      const cached = local.vault();
      await cached.listAccounts('ops@corp.example.com', { names: ['big01'], ips: [] });
      local.sim.resetCalls();
      await cached.listAccounts('ops@corp.example.com', { names: ['big01'], ips: [] });
      expect(local.sim.calls()).toBe(0);
    } finally {
      await local.close();
    }
  });

  it('works without "System Management: read" (no workgroups, names only)', async () => {
    const seed: SeedInput = {
      platforms: [{ id: 7, name: 'Linux', shortName: 'LNX', defaultPort: 22, sessionType: 'SSH' }],
      workgroups: [{ id: 1, name: 'CORP' }],
      groups: [{ name: 'Narrow', systemsRead: false, grants: [{ system: 'lnx01' }] }],
      users: [{ name: 'narrow@corp.example.com', groups: ['Narrow'] }],
      registrations: [{ kind: 'apikey', name: 'k', key: DEMO_KEY, groups: ['Narrow'] }],
      systems: [
        { name: 'lnx01', dnsName: 'lnx01.corp.example.com', ip: '10.2.0.1', platform: 'Linux', workgroup: 'CORP' },
      ],
      accounts: [{ system: 'lnx01', name: 'ops', password: 'pw-ops-xxxxxxxx' }],
    };
    const local = await startHarness(parseSeed(seed));
    try {
      const vault = local.vault();
      const list = await vault.listAccounts('narrow@corp.example.com', { names: ['lnx01.corp.example.com'], ips: [] });
      expect(list).toEqual([expect.objectContaining({ systemName: 'lnx01', accountName: 'ops', kind: 'ssh-key' })]);
      expect(list[0]!.workgroup).toBeUndefined();
      expect(await vault.searchSystems('narrow@corp.example.com', 'LNX', 5)).toEqual([
        { systemId: 1, name: 'lnx01', hostname: 'lnx01', method: 'ssh', port: 22 },
      ]);
      expect(local.sim.calls('GET ManagedSystems')).toBeGreaterThan(0);
    } finally {
      await local.close();
    }
  });

  it('expires cached discovery after the TTL', async () => {
    const vault = h.vault({ cache: { discoveryTtlSeconds: 30 } });
    await vault.listAccounts(JDOE, WEB01);
    h.sim.resetCalls();
    await vault.listAccounts(JDOE, WEB01);
    expect(h.sim.calls()).toBe(0);
    h.clock.advance(31_000);
    await vault.listAccounts(JDOE, WEB01);
    expect(h.sim.calls('GET ManagedAccounts')).toBeGreaterThan(0);
  });

  it('signs in through an OAuth registration as the application user', async () => {
    const vault = h.vault({
      auth: { method: 'oauth', clientId: 'ecm-bridge-oauth', clientSecret: 'demo-oauth-client-secret' },
    });
    expect((await vault.listAccounts('whoever@corp.example.com', WEB01)).map((a) => a.accountName)).toEqual([
      'helpdesk-local',
    ]);
    await vault.listAccounts('someone-else@corp.example.com', { names: ['app02'], ips: [] });
    expect(h.sim.calls('POST Auth/connect/token')).toBe(1);
    expect(h.sim.calls('POST Auth/SignAppin')).toBe(1);
    expect(await vault.health()).toBeUndefined();
    const bad = h.vault({
      auth: { method: 'oauth', clientId: 'ecm-bridge-oauth', clientSecret: 'wrong-secret-value' },
    });
    await expect(bad.listAccounts(JDOE, WEB01)).rejects.toMatchObject({ code: 'vault.auth_failed' });
  });

  it('reports health through a probe user', async () => {
    expect(await h.vault({ probeUser: 'ecm-probe@corp.example.com' }).health()).toBeUndefined();
    expect(await h.vault().health()).toMatchObject({
      code: 'config.invalid',
      details: { path: 'vault.probeUser' },
    });
    expect(await h.vault().health('ghost@corp.example.com')).toMatchObject({ code: 'vault.auth_failed' });
  });
});
