import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSeedPath } from '../../../src/simulators/passwordsafe/estate-generator.js';
import { PasswordSafeSimulator } from '../../../src/simulators/passwordsafe/password-safe-simulator.js';
import { loadSeedFile, parseSeed } from '../../../src/simulators/passwordsafe/seed.js';

const KEY = 'demo-ps-api-key-0123456789';
const JDOE = 'jdoe@corp.example.com';

/** The simulator speaks the API the way public clients expect it: checked with raw HTTP. */
describe('Password Safe simulator fidelity (raw HTTPS)', () => {
  let sim: PasswordSafeSimulator;
  let dispatcher: Agent;
  let now = Date.UTC(2026, 10, 22, 9);
  const base = () => sim.url;
  const call = async (method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}) => {
    const res = await request(`${base()}${path}`, {
      method: method as 'GET',
      dispatcher,
      headers: opts.headers ?? {},
      ...(opts.body === undefined ? {} : { body: opts.body }),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      text,
      json: text ? (JSON.parse(text) as unknown) : undefined,
    };
  };
  const signIn = async (authorization: string) => {
    const r = await call('POST', '/Auth/SignAppin', { headers: { authorization } });
    return { ...r, cookie: r.status === 200 ? String(r.headers['set-cookie']).split(';')[0]! : '' };
  };

  beforeAll(async () => {
    sim = await PasswordSafeSimulator.start({ seed: loadSeedFile(demoSeedPath), now: () => now });
    dispatcher = new Agent({ connect: { ca: sim.caPem } });
  });
  afterAll(async () => {
    await dispatcher.close();
    await sim.stop();
  });

  it('parses PS-Auth leniently and refuses bad keys and unknown users with 401', async () => {
    for (const h of [
      `PS-Auth key=${KEY}; runas=${JDOE};`,
      `PS-Auth key=${KEY};runas=${JDOE}`,
      `ps-auth   KEY=${KEY} ;  RunAs=${JDOE} ;`,
    ]) {
      expect((await signIn(h)).status).toBe(200);
    }
    expect((await signIn(`PS-Auth key=wrong-key-000000; runas=${JDOE};`)).status).toBe(401);
    expect((await signIn(`PS-Auth key=${KEY}; runas=ghost@corp.example.com;`)).status).toBe(401);
    const ok = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    expect(ok.json).toMatchObject({ UserId: 11, UserName: JDOE, EmailAddress: JDOE, Name: 'Jane Doe' });
  });

  it('routes case-insensitively, accepts a trailing slash and case-insensitive query names', async () => {
    const { cookie } = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    const a = await call('GET', '/managedaccounts/?SYSTEMNAME=WEB01', { headers: { cookie } });
    const b = await call('GET', '/ManagedAccounts?systemName=web01', { headers: { cookie } });
    expect(a.status).toBe(200);
    expect(a.json).toEqual(b.json);
    expect((a.json as unknown[]).length).toBe(2);
  });

  it('answers one object for systemName+accountName, arrays otherwise, 404 when the pair does not exist', async () => {
    const { cookie } = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    const one = await call('GET', '/ManagedAccounts?systemName=web01&accountName=administrator', {
      headers: { cookie },
    });
    expect(one.json).toMatchObject({
      SystemId: 1,
      AccountId: 101,
      AccountName: 'Administrator',
      MaximumReleaseDuration: 240,
    });
    expect(
      (await call('GET', '/ManagedAccounts?systemName=web01&accountName=nobody', { headers: { cookie } })).status,
    ).toBe(404);
    expect((await call('GET', '/ManagedAccounts?systemName=nowhere', { headers: { cookie } })).json).toEqual([]);
    expect(Array.isArray((await call('GET', '/ManagedSystems', { headers: { cookie } })).json)).toBe(true);
    expect((await call('GET', '/ManagedSystems?limit=2&offset=1', { headers: { cookie } })).json).toMatchObject({
      TotalCount: 4,
      Data: [{ ManagedSystemID: 2 }, { ManagedSystemID: 3 }],
    });
    expect((await call('GET', '/Platforms', { headers: { cookie } })).json).toContainEqual(
      expect.objectContaining({ PlatformID: 2, DefaultSessionType: 'SSH' }),
    );
  });

  it('searches assets by IP (single or list) and lists the managed systems of an asset; 403 without System Management read', async () => {
    const { cookie } = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    const json = { cookie, 'content-type': 'application/json' };
    const search = (body: unknown, query = '') =>
      call('POST', `/Assets/Search${query}`, { headers: json, body: JSON.stringify(body) });
    const one = await search({ IPAddress: '10.0.4.17' });
    expect(one.status).toBe(200);
    expect(one.json).toEqual([expect.objectContaining({ AssetID: 1, AssetName: 'web01', IPAddress: '10.0.4.17' })]);
    expect((await search({ ipaddress: '10.0.4.17, 10.0.5.21' }, '?limit=1')).json).toMatchObject({
      TotalCount: 2,
      Data: [{ AssetName: 'web01' }],
    });
    expect((await search({})).status).toBe(400);
    expect((await search({ IPAddress: '10.0.4.0/24' })).status).toBe(400);
    const systems = await call('GET', '/assets/1/managedsystems/', { headers: { cookie } });
    expect(systems.json).toEqual([expect.objectContaining({ ManagedSystemID: 1, SystemName: 'web01', AssetID: 1 })]);
    expect((await call('GET', '/Assets/999/ManagedSystems', { headers: { cookie } })).status).toBe(404);
    // The probe user's group has "Asset Management: read" but not "System Management: read"
    // (test/integration/vault/asset-permission.test.ts has groups without the former).
    const probe = await signIn(`PS-Auth key=${KEY}; runas=ecm-probe@corp.example.com;`);
    const found = await call('POST', '/Assets/Search', {
      headers: { cookie: probe.cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ IPAddress: '10.0.4.17' }),
    });
    expect(found.status).toBe(200);
    expect((await call('GET', '/Assets/1/ManagedSystems', { headers: { cookie: probe.cookie } })).status).toBe(403);
  });

  it('creates requests (201 + bare integer), 409 without a conflict option, JSON-string credentials, 204 check-in, 404 afterwards', async () => {
    const { cookie } = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    const json = { cookie, 'content-type': 'application/json' };
    const created = await call('POST', '/Requests', {
      headers: json,
      body: JSON.stringify({ systemid: 2, accountId: 202, durationminutes: 10 }),
    });
    expect(created.status).toBe(201);
    expect(created.text).toMatch(/^\d+$/);
    const again = await call('POST', '/Requests', {
      headers: json,
      body: JSON.stringify({ SystemID: 2, AccountID: 202, DurationMinutes: 10 }),
    });
    expect(again.status).toBe(409);
    expect(String(again.json)).toMatch(/^4091/);
    const cred = await call('GET', `/Credentials/${created.text}?type=password`, { headers: { cookie } });
    expect(cred.text).toBe(JSON.stringify(sim.currentPassword('db01', 'postgres')));
    expect(
      (await call('PUT', `/Requests/${created.text}/checkin`, { headers: json, body: '{"reason":"done"}' })).status,
    ).toBe(204);
    expect((await call('GET', `/Credentials/${created.text}`, { headers: { cookie } })).status).toBe(404);
    const tooLong = await call('POST', '/Requests', {
      headers: json,
      body: JSON.stringify({ SystemID: 1, AccountID: 101, DurationMinutes: 241 }),
    });
    expect(tooLong.status).toBe(400);
  });

  it('expires idle sessions and request durations on its clock', async () => {
    const { cookie } = await signIn(`PS-Auth key=${KEY}; runas=${JDOE};`);
    const json = { cookie, 'content-type': 'application/json' };
    const id = (
      await call('POST', '/Requests', {
        headers: json,
        body: JSON.stringify({ SystemID: 1, AccountID: 102, DurationMinutes: 5 }),
      })
    ).text;
    now += 6 * 60_000;
    expect((await call('GET', `/Credentials/${id}`, { headers: { cookie } })).status).toBe(404);
    now += 21 * 60_000;
    expect((await call('GET', '/Workgroups', { headers: { cookie } })).status).toBe(401);
  });

  it('enforces registration passwords and source addresses', async () => {
    const seed = parseSeed({
      platforms: [{ id: 1, name: 'Windows', shortName: 'WIN' }],
      workgroups: [{ id: 1, name: 'W' }],
      groups: [{ name: 'G' }],
      users: [{ name: 'u1', groups: ['G'], password: 'user-pw;with]chars' }],
      registrations: [
        { kind: 'apikey', name: 'pw', key: 'key-needs-password', groups: ['G'], requirePassword: true },
        { kind: 'apikey', name: 'far', key: 'key-from-elsewhere', groups: ['G'], allowedAddresses: ['192.0.2.1'] },
      ],
    });
    const strict = await PasswordSafeSimulator.start({ seed });
    const strictAgent = new Agent({ connect: { ca: [strict.caPem] } });
    try {
      const post = async (authorization: string) =>
        (
          await request(`${strict.url}/Auth/SignAppin`, {
            method: 'POST',
            headers: { authorization },
            dispatcher: strictAgent,
          })
        ).statusCode;
      expect(await post('PS-Auth key=key-needs-password; runas=u1;')).toBe(401);
      expect(await post('PS-Auth key=key-needs-password; runas=u1; pwd=[user-pw;with]chars];')).toBe(200);
      expect(await post('PS-Auth key=key-from-elsewhere; runas=u1;')).toBe(401);
    } finally {
      await strictAgent.close();
      await strict.stop();
    }
  });
});
