import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { loadConfigFile, parseConfigText, type Config } from '../../../src/app/config-schema.js';
import { createRuntime } from '../../../src/app/runtime.js';
import { createStatusSource } from '../../../src/app/status/status-source.js';
import type { HttpConfig } from '../../../src/http/http-config.js';
import { OpsServer } from '../../../src/http/ops-server.js';
import { ConfigError, formatProblem } from '../../../src/platform/config/loader.js';
import { Secret } from '../../../src/platform/secret.js';
import { captureLogger } from '../../helpers/log-capture.js';
import { startPsForBroker } from '../broker/ps-broker-harness.js';

// The status page's HTTP rules and its Test Settings against the Password Safe simulator; the
// page itself is driven in a browser by status-page.test.ts.
let ps: Awaited<ReturnType<typeof startPsForBroker>>;
let running: Config;
let server: OpsServer | undefined;

beforeAll(async () => {
  ps = await startPsForBroker();
  running = loadConfigFile(ps.configFile, { env: ps.env });
});
afterAll(async () => ps?.close());
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const MONITORING = 'monitoring-token-0123456789';

/** An ops server with the status page: with `token` as its status token, or else opened on loopback (if `host` is). */
async function start(host: string, token?: string, draftLimitMs?: number, http: Partial<HttpConfig> = {}) {
  const capture = captureLogger('warn');
  const rt = createRuntime(capture.log);
  server = new OpsServer(
    {
      host,
      port: 0,
      ...(token
        ? { auth: { token: new Secret(MONITORING), statusToken: new Secret(token) } }
        : { statusPage: { openOnLoopback: true } }),
      ...http,
    },
    {
      ...rt,
      status: createStatusSource({
        rt,
        config: () => running,
        site: () => undefined,
        reporting: () => undefined,
        store: () => undefined,
        ...(draftLimitMs !== undefined && { draftLimitMs }),
      }),
    },
  );
  await server.start();
  return { base: `http://127.0.0.1:${server.address.port}`, capture };
}

// As the page's own fetch sends it: with the page's Origin.
const post = (base: string, body: unknown, token?: string, headers: Record<string, string> = { origin: base }) =>
  request(`${base}/status/api/test-settings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers, ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });

describe('status page routes', () => {
  it('with a token: the shell loads without it (no data, strict CSP), every data route needs it', async () => {
    const { base } = await start('127.0.0.1', 'ops-token-123456');
    const shell = await request(`${base}/status`);
    expect(shell.statusCode).toBe(200);
    expect(shell.headers['content-security-policy']).toContain("script-src 'self'");
    expect(shell.headers['x-content-type-options']).toBe('nosniff');
    expect(await shell.body.text()).toContain('<label for="token"');
    expect((await request(`${base}/status/status.js`)).statusCode).toBe(200);

    const bare = await request(`${base}/status/api/overview`);
    expect(bare.statusCode).toBe(401);
    await bare.body.dump();
    const denied = await post(base, { user: 'CORP\\jdoe', endpoint: 'web01' });
    expect(denied.statusCode).toBe(401);
    await denied.body.dump();
    // A POST to a shell path is not let through the bearer check either.
    expect((await request(`${base}/status`, { method: 'POST', headers: { origin: base } })).statusCode).toBe(401);

    const ok = await request(`${base}/status/api/overview`, { headers: { authorization: 'Bearer ops-token-123456' } });
    expect(ok.statusCode).toBe(200);
    const overview = (await ok.body.json()) as { leases: unknown; sites: unknown[] };
    expect(overview.leases).toEqual({ error: 'the store is not running' });
  });

  it('without a status token it is served only when opted in, and then only on a loopback address', async () => {
    const open = await start('0.0.0.0');
    expect((await request(`${open.base}/status`)).statusCode).toBe(404);
    expect((await request(`${open.base}/status/api/overview`)).statusCode).toBe(404);
    expect(open.capture.text()).toContain('openOnLoopback is honoured only on a loopback http.host');
    await server?.stop();

    const notOptedIn = await start('127.0.0.1', undefined, undefined, { statusPage: { openOnLoopback: false } });
    expect((await request(`${notOptedIn.base}/status/api/overview`)).statusCode).toBe(404);
    expect(notOptedIn.capture.text()).toContain('status page disabled: set http.auth.statusToken');
    await server?.stop();

    // A monitoring token alone never opens the page.
    const monitoringOnly = await start('127.0.0.1', undefined, undefined, {
      auth: { token: new Secret(MONITORING) },
      statusPage: { openOnLoopback: false },
    });
    const withMonitoring = { headers: { authorization: `Bearer ${MONITORING}` } };
    expect((await request(`${monitoringOnly.base}/status/api/overview`, withMonitoring)).statusCode).toBe(404);
    await server?.stop();

    const local = await start('127.0.0.1');
    expect((await request(`${local.base}/status/api/overview`)).statusCode).toBe(200);
  });

  it('the two token scopes do not open each other', async () => {
    const { base } = await start('127.0.0.1', 'status-token-0123456789');
    const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    expect((await request(`${base}/metrics`, as(MONITORING))).statusCode).toBe(200);
    expect((await request(`${base}/metrics`, as('status-token-0123456789'))).statusCode).toBe(401);
    expect((await request(`${base}/readyz`, as('status-token-0123456789'))).statusCode).toBe(401);
    expect((await request(`${base}/status/api/overview`, as(MONITORING))).statusCode).toBe(401);
    expect((await post(base, { user: 'a', endpoint: 'b' }, MONITORING)).statusCode).toBe(401);
    expect((await request(`${base}/status/api/overview`, as('status-token-0123456789'))).statusCode).toBe(200);
  });

  it('DNS rebinding: a Host that is not this server is refused on every route but /healthz', async () => {
    const { base } = await start('127.0.0.1', undefined, undefined, { publicNames: ['ops.corp.example'] });
    const as = (host: string) => ({ headers: { host } });
    for (const path of ['/status/api/overview', '/metrics', '/readyz', '/status']) {
      const r = await request(`${base}${path}`, as('attacker.example:9410'));
      expect(r.statusCode, path).toBe(421);
      expect(JSON.stringify(await r.body.json())).toContain('http.publicNames');
    }
    const rebound = await post(base, { user: 'CORP\\jdoe', endpoint: 'web01' }, undefined, {
      host: 'attacker.example:9410',
      origin: 'http://attacker.example:9410',
    });
    expect(rebound.statusCode).toBe(421);
    await rebound.body.dump();
    expect((await request(`${base}/healthz`, as('attacker.example'))).statusCode).toBe(200);
    // IP literals, loopback names and the configured names are this server.
    for (const host of ['127.0.0.1:1', 'localhost:1', '[::1]:1', 'OPS.corp.example:9410', '10.0.0.5'])
      expect((await request(`${base}/status/api/overview`, as(host))).statusCode, host).toBe(200);
  });

  it('CSRF: a state-changing request needs an Origin that is the server itself', async () => {
    const { base } = await start('127.0.0.1');
    const body = { user: 'CORP\\jdoe', endpoint: 'web01' };
    const none = await post(base, body, undefined, {});
    expect(none.statusCode).toBe(403);
    expect(JSON.stringify(await none.body.json())).toContain('must carry an Origin');
    for (const origin of ['http://attacker.example', 'null', `${base.replace('http:', 'https:')}`]) {
      const r = await post(base, body, undefined, { origin });
      expect(r.statusCode, origin).toBe(403);
      await r.body.dump();
    }
  });

  it('bounds every input and names the field', async () => {
    const { base } = await start('127.0.0.1', 'tok-0123456789');
    const long = await post(base, { user: 'u'.repeat(257), endpoint: 'web01' }, 'tok-0123456789');
    expect(long.statusCode).toBe(400);
    expect(JSON.stringify(await long.body.json())).toContain('user: Too big');
    const extra = await post(base, { user: 'a', endpoint: 'b', checkout: true }, 'tok-0123456789');
    expect(extra.statusCode).toBe(400);
    expect(JSON.stringify(await extra.body.json())).toContain('checkout');
    const huge = await post(base, { user: 'a', endpoint: 'b', draftYaml: 'x'.repeat(40_000) }, 'tok-0123456789');
    expect([400, 413]).toContain(huge.statusCode);
    await huge.body.dump();
  });

  it('explains with the running config, or a draft validated like `config validate` that never reads secrets or the vault connection from the draft', async () => {
    const { base } = await start('127.0.0.1');
    const jdoe = { user: 'CORP\\jdoe', endpoint: 'web01.corp.example.com' };
    const runningAnswer = (await (await post(base, jdoe)).body.json()) as Record<string, unknown>;
    expect(runningAnswer).toMatchObject({ kind: 'explained', config: 'running', ok: true });
    expect(runningAnswer.verdict).toMatch(/^Result: OK/);
    expect(JSON.stringify(runningAnswer.offered)).toContain('Administrator (web01)');
    expect(JSON.stringify(runningAnswer)).not.toMatch(/"id"/); // no signed credential id leaves the bridge

    // A draft that points the vault elsewhere and names secrets this host does not have: explained
    // against the running vault connection (the draft's would fail), its secrets never looked up.
    const doc = parseDocument(readFileSync(ps.configFile, 'utf8'));
    doc.setIn(['vault', 'url'], 'https://127.0.0.1:1/BeyondTrust/api/public/v3');
    doc.setIn(['vault', 'auth', 'apiKey'], 'file:/nonexistent/ps-api-key');
    doc.setIn(['broker', 'credentialIdKey'], 'env:NOT_SET_ON_THIS_HOST');
    const ask = async (draftYaml: string) =>
      (await (await post(base, { ...jdoe, draftYaml })).body.json()) as Record<string, unknown>;
    const elsewhere = await ask(doc.toString());
    expect(elsewhere, JSON.stringify(elsewhere)).toMatchObject({ kind: 'explained', config: 'draft', ok: true });
    expect(JSON.stringify(elsewhere.offered)).toContain('Administrator (web01)');

    // The draft's own broker settings are what is explained: here nobody is mapped.
    doc.setIn(['userMapping', 'rules'], []);
    doc.setIn(['userMapping', 'default'], 'deny');
    const denying = await ask(doc.toString());
    expect(denying).toMatchObject({ kind: 'explained', config: 'draft', ok: false });
    expect(denying.text).toContain('no vault user (userMapping.default is deny)');

    // The same messages as `config validate` gives for that text.
    const broken = 'userMappng:\n  default: deny\nhttp:\n  port: "x"\n';
    const invalid = (await (await post(base, { ...jdoe, draftYaml: broken })).body.json()) as { problems: string[] };
    let expected: string[] = [];
    try {
      parseConfigText(broken, 'draft');
    } catch (e) {
      expected = (e as ConfigError).problems.map((p) => formatProblem('draft', p));
    }
    expect(expected.length).toBe(2);
    expect(invalid).toEqual({ kind: 'invalid', problems: expected });
  });

  // The campaign's freeze: this rule and user held the event loop for > 15 s under JavaScript's
  // backtracking engine, and the 20 s deadline could not interrupt it.
  const hostileDraft = () => {
    const doc = parseDocument(readFileSync(ps.configFile, 'utf8'));
    doc.setIn(
      ['userMapping', 'rules'],
      [{ name: 'hostile', match: { username: 'regex:^(CORP\\\\)?a*a*a*a*a*a*$' }, transform: { domain: 'strip' } }],
    );
    return doc.toString();
  };
  const hostileUser = `${'a'.repeat(124)}!`;

  it('a pathological draft and user never stop /healthz from answering while the draft runs', async () => {
    const { base } = await start('127.0.0.1');
    let settled = false;
    const answer = post(base, { user: hostileUser, endpoint: 'web01', draftYaml: hostileDraft() })
      .then(async (r) => (await r.body.json()) as Record<string, unknown>)
      .finally(() => (settled = true));
    // No timing assertion: each probe must be answered while the draft is still being worked on.
    // With a stalled loop the probes (and the test) hang until its timeout.
    let answeredDuring = 0;
    while (!settled) {
      const probe = await request(`${base}/healthz`);
      expect(probe.statusCode).toBe(200);
      await probe.body.dump();
      if (!settled) answeredDuring++;
    }
    expect(answeredDuring).toBeGreaterThan(0);
    expect(await answer).toMatchObject({ kind: 'explained', config: 'draft', ok: false });
  });

  it('a draft that outlives its limit is stopped (its worker killed) and the answer says so', async () => {
    const { base } = await start('127.0.0.1', undefined, 1);
    const r = await post(base, { user: hostileUser, endpoint: 'web01', draftYaml: hostileDraft() });
    expect(await r.body.json()).toEqual({
      kind: 'invalid',
      problems: [expect.stringMatching(/^draft: the draft took longer than 0.001 s .* so it was stopped/)],
    });
  });
});
