import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket as WsClient } from 'ws';
import { ApplianceSimulator } from '../../../src/simulators/appliance/appliance-simulator.js';
import { ConsoleDriver } from '../../../src/simulators/appliance/console-driver.js';
import { ECM_ACCOUNT, sample, ScriptedHandler, startLink, until, USER, writeCa, type StartedLink } from './harness.js';
import { CONSOLE_DEADLINE_MS } from '../../helpers/deadlines.js';

describe('requests and frames on the ECM channel', () => {
  let sim: ApplianceSimulator;
  let caFile: string;
  let started: StartedLink | undefined;
  beforeEach(async () => {
    sim = new ApplianceSimulator({ accounts: [ECM_ACCOUNT], heartbeatMs: 100, maxRequestMs: CONSOLE_DEADLINE_MS });
    await sim.start();
    caFile = writeCa(sim.caPem);
  });
  afterEach(async () => {
    await started?.link.stop(200);
    started = undefined;
    await sim.stop();
  });

  const connect = async (handler = new ScriptedHandler()) => {
    started = await startLink(sim.url, caFile, handler);
    await until(() => started?.link.status().state === 'connected', 'connected');
    return started;
  };

  // (A request without a user is refused by the broker mapper: test/unit/appliance/broker-mapper.test.ts.)
  it('answers an unknown op with bad_request without calling the handler', async () => {
    const handler = new ScriptedHandler();
    await connect(handler);
    const unknown = await sim.hub.request('Default', 'credentials.frobnicate', USER, {});
    expect(unknown).toMatchObject({
      answeredBy: 'ecm',
      error: { code: 'bad_request', message: 'unknown op "credentials.frobnicate"', retryable: false },
    });
    expect(handler.calls).toHaveLength(0);
  });

  it('answers timeout itself at the deadline, aborts the handler, and never answers twice', async () => {
    let abortedReason: unknown;
    let finishLate: (() => void) | undefined;
    const handler = new ScriptedHandler((_op, _p, signal) =>
      finishLate
        ? Promise.resolve({ credentials: [] })
        : new Promise((resolve) => {
            signal.addEventListener('abort', () => (abortedReason = signal.reason));
            finishLate = () => resolve({ credentials: [] }); // ignores the abort and finishes late
          }),
    );
    await connect(handler);
    // The link answers 10% (at most 250 ms) before the deadline it is sent. The appliance's own
    // timer is the generous one, so however late a loaded machine delivers the link's timeout
    // answer, that answer is the outcome.
    const frame = {
      type: 'request',
      id: 'slow-1',
      op: 'credentials.list',
      deadlineMs: 2500,
      context: USER,
      params: {},
    };
    const out = await sim.hub.sendRequest('Default', 'slow-1', JSON.stringify(frame), CONSOLE_DEADLINE_MS);
    expect(out).toMatchObject({ answeredBy: 'ecm', error: { code: 'timeout', retryable: true } });
    expect(abortedReason).toMatchObject({ code: 'service.timeout' });
    finishLate!();
    // Frames on one channel arrive in order: once a later request is answered, a second answer to
    // the first one (had the link sent it) has been counted.
    expect((await sim.hub.request('Default', 'credentials.list', USER, {}, CONSOLE_DEADLINE_MS)).answeredBy).toBe(
      'ecm',
    );
    expect(sim.hub.stats).toMatchObject({ duplicateResponses: 0, lateResponses: 0, unknownResponses: 0 });
  });

  it('runs at most maxConcurrentRequests at once and answers every request', async () => {
    let running = 0;
    let peak = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handler = new ScriptedHandler(async () => {
      running++;
      peak = Math.max(peak, running);
      await gate;
      running--;
      return { credentials: [] };
    });
    const s = await connect(handler);
    const answers = Promise.all(
      // A deadline far beyond the test: the held requests must be answered, not timed out.
      Array.from({ length: 12 }, () => sim.hub.request('Default', 'credentials.list', USER, {}, CONSOLE_DEADLINE_MS)),
    );
    // Held until all 12 have reached the link: 4 handled, 8 queued behind the limit.
    await until(
      async () => (await sample(s.metrics, 'ecm_bridge_channel_requests_in_flight{site="sim"}')) === 12,
      'all 12 requests received',
    );
    expect(running).toBe(4);
    release();
    const outs = await answers;
    expect(outs.every((o) => o.answeredBy === 'ecm' && o.result !== undefined)).toBe(true);
    expect(peak).toBe(4);
  });

  it('fails in-flight requests explicitly on stop and closes with 1000', async () => {
    const handler = new ScriptedHandler(() => new Promise(() => undefined));
    const s = await connect(handler);
    const pending = sim.hub.request('Default', 'credentials.get', USER, { credentialId: 'x' });
    await until(() => handler.calls.length === 1, 'in flight');
    await s.link.stop(100);
    started = undefined;
    expect(await pending).toMatchObject({
      answeredBy: 'ecm',
      error: {
        code: 'internal',
        message: 'the credential manager is shutting down; retry in a moment',
        retryable: true,
      },
    });
    expect(sim.hub.connections()).toHaveLength(0);
  });

  it('closes with 1007 on a frame that is not JSON and with 1009 above 1 MiB, then reconnects', async () => {
    const s = await connect();
    sim.hub.sendRaw('replica-a', '{not json');
    // The appliance records the close code when its side of the socket closes, which may be
    // after the link has already reconnected: wait for both.
    await until(
      () => sim.upgrades.get(101) === 2 && s.link.status().state === 'connected' && sim.hub.closeCodes.get(1007) === 1,
      'reconnected after 1007',
    );
    expect(await sample(s.metrics, 'ecm_bridge_channel_reconnects_total{site="sim",reason="bad_frame"}')).toBe(1);
    expect(sim.hub.closeCodes.get(1007)).toBe(1);
    sim.hub.sendRaw('replica-a', JSON.stringify({ type: 'future-thing', pad: 'x'.repeat(1024 * 1024) }));
    await until(
      () => sim.upgrades.get(101) === 3 && s.link.status().state === 'connected' && sim.hub.closeCodes.has(1009),
      'reconnected after 1009',
    );
    expect(sim.hub.closeCodes.get(1009)).toBe(1); // the session's 1 MiB limit sent 1009 to the appliance
    // Unknown frame types below the limit are ignored without a reconnect.
    sim.hub.sendRaw('replica-a', JSON.stringify({ type: 'future-thing' }));
    expect((await sim.hub.request('Default', 'jump.search', USER, { query: 'web' })).answeredBy).toBe('ecm');
    expect(sim.upgrades.get(101)).toBe(3);
  });

  it('the simulator enforces the protocol on the ECM side too (raw client)', async () => {
    const token = sim.tokens.mint(ECM_ACCOUNT.clientId, ECM_ACCOUNT.clientSecret as string)?.token as string;
    const open = () =>
      new WsClient(`${sim.url.replace('https', 'wss')}/api/ecm/v1`, {
        ca: sim.caPem,
        headers: { authorization: `Bearer ${token}` },
      });
    const closeOf = (ws: WsClient, send: (ws: WsClient) => void) =>
      new Promise<number>((resolve) => {
        ws.on('open', () => send(ws));
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => undefined);
      });
    expect(await closeOf(open(), (ws) => ws.send('nope'))).toBe(1007);
    expect(
      await closeOf(open(), (ws) => ws.send(JSON.stringify({ type: 'hello', protocol: 2, ecm: { instanceId: 'x' } }))),
    ).toBe(4400);
    expect(await closeOf(open(), (ws) => ws.send('x'.repeat(1024 * 1024 + 1)))).toBe(1009);
    expect(await closeOf(open(), (ws) => ws.send(JSON.stringify({ type: 'request' })))).toBe(1002);
  });

  it('the simulator answers timeout itself when the ECM is late, and drops the late answer', async () => {
    const token = sim.tokens.mint(ECM_ACCOUNT.clientId, ECM_ACCOUNT.clientSecret as string)?.token as string;
    const ws = new WsClient(`${sim.url.replace('https', 'wss')}/api/ecm/v1`, {
      ca: sim.caPem,
      headers: { authorization: `Bearer ${token}` },
    });
    const requests: string[] = [];
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type: string; id: string };
      if (f.type === 'request') requests.push(f.id);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(
      JSON.stringify({
        type: 'hello',
        protocol: 1,
        ecm: { name: 'slow', version: '0', instanceId: 'slow', host: 'h' },
        capabilities: [],
      }),
    );
    await until(() => sim.hub.connections().length === 1, 'welcomed');
    const out = await sim.hub.request('Default', 'credentials.list', USER, {}, 100);
    expect(out).toMatchObject({ answeredBy: 'appliance', applianceReason: 'timeout', error: { code: 'timeout' } });
    ws.send(JSON.stringify({ type: 'response', id: requests[0], result: { credentials: [] } }));
    ws.send(JSON.stringify({ type: 'response', id: 'never-sent', result: {} }));
    await until(() => sim.hub.stats.lateResponses === 1 && sim.hub.stats.unknownResponses === 1, 'late answer counted');
    ws.close();
  });

  it('drives the console over the simulator HTTP API', async () => {
    await connect();
    const driver = new ConsoleDriver(sim.url, sim.caPem);
    try {
      const base = { user: { username: 'CORP\\jdoe' }, endpoint: { hostname: 'web01' } };
      expect(await driver.list(base)).toMatchObject({ answeredBy: 'ecm', result: { credentials: [{ id: 'c1' }] } });
      expect(await driver.get(base, 'c1')).toMatchObject({ result: { credential: { leaseId: 'l1' } } });
      expect(await driver.release(base, 'l1')).toMatchObject({ result: { released: true } });
      expect(await driver.search(base, 'web')).toMatchObject({ result: { items: [] } });
      expect(await driver.status()).toMatchObject({ connections: [{ instanceId: 'replica-a', role: 'active' }] });
      await expect(driver.send({ op: '', user: { username: 'x' } })).rejects.toThrow(/op is required/);
    } finally {
      await driver.close();
    }
  });
});
