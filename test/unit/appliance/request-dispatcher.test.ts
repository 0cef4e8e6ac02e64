import { describe, expect, it } from 'vitest';
import type { RequestHandler } from '../../../src/appliance/channel/appliance-link.js';
import { LinkMetrics } from '../../../src/appliance/channel/link-metrics.js';
import type { Op, ResponseFrame } from '../../../src/protocol/ecm-protocol.js';
import { RequestDispatcher } from '../../../src/appliance/channel/request-dispatcher.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { ServiceError } from '../../../src/platform/errors.js';
import { silentLogger } from '../../../src/platform/logger.js';
import { createMetricsRegistry } from '../../../src/platform/metrics.js';

class Sink {
  frames: ResponseFrame[] = [];
  open = true;
  send(frameJson: string): boolean {
    if (this.open) this.frames.push(JSON.parse(frameJson) as ResponseFrame);
    return this.open;
  }
}

const request = (id: string, extra: Record<string, unknown> = {}) => ({
  type: 'request',
  id,
  op: 'credentials.list',
  deadlineMs: 1000,
  context: { user: { username: 'u' } },
  params: {},
  ...extra,
});
const flush = () => new Promise((r) => setImmediate(r));

function setup(
  handler: RequestHandler,
  maxConcurrent = 2,
  maxQueued = 1,
  undelivered?: (op: Op, answer: unknown) => Promise<void>,
) {
  const clock = new ManualClock();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const d = new RequestDispatcher(
    {
      site: 's',
      maxConcurrent,
      maxQueued,
      clock,
      log: silentLogger(),
      metrics: new LinkMetrics(metrics, 's', clock),
    },
    () => (undelivered ? { ...handler, undelivered } : handler),
  );
  return { clock, d, metrics };
}

/** A handler whose calls stay pending until resolved by hand. */
function gated() {
  const pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void; signal: AbortSignal }[] = [];
  const handler: RequestHandler = {
    handle: (_op, _c, _p, signal) =>
      new Promise((resolve, reject) => pending.push({ resolve: resolve as never, reject, signal })),
  };
  return { handler, pending };
}

describe('RequestDispatcher', () => {
  it('queues beyond the limit, refuses beyond the queue with channel.overloaded, answers the rest', async () => {
    const { handler, pending } = gated();
    const { d } = setup(handler);
    const sink = new Sink();
    for (const id of ['a', 'b', 'c', 'd']) d.accept(request(id), sink, 1000);
    await flush();
    expect(pending).toHaveLength(2);
    expect(sink.frames).toEqual([
      {
        type: 'response',
        id: 'd',
        error: { code: 'internal', message: 'the credential manager is busy; retry in a moment', retryable: true },
      },
    ]);
    pending[0]?.resolve({ credentials: [] });
    await flush();
    expect(pending).toHaveLength(3); // c started
    pending[1]?.reject(new ServiceError('mapping.unmapped', 'no rule matched CORP\\u'));
    pending[2]?.resolve({ credentials: [] });
    await flush();
    expect(sink.frames.map((f) => f.id).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(sink.frames.find((f) => f.id === 'b')).toMatchObject({
      error: { code: 'unmapped_user', message: 'no rule matched CORP\\u' },
    });
  });

  it('answers timeout just before the deadline, aborts the handler, and drops the late result', async () => {
    const { handler, pending } = gated();
    const { d, clock } = setup(handler);
    const sink = new Sink();
    d.accept(request('a', { deadlineMs: 2000 }), sink, 10_000);
    await flush();
    await clock.advance(1799); // margin: min(250 ms, 10 %) = 200 ms
    expect(sink.frames).toHaveLength(0);
    await clock.advance(1);
    expect(sink.frames).toEqual([
      {
        type: 'response',
        id: 'a',
        error: { code: 'timeout', message: 'the request did not finish within 2000 ms', retryable: true },
      },
    ]);
    expect(pending[0]?.signal.aborted).toBe(true);
    pending[0]?.resolve({ credentials: [] });
    await flush();
    expect(sink.frames).toHaveLength(1);
  });

  it('hides unexpected errors behind "internal error" and refuses oversized answers', async () => {
    const big = { credentials: [{ id: 'x'.repeat(1024 * 1024) }] };
    let n = 0;
    const { d } = setup({
      handle: async () => (n++ === 0 ? Promise.reject(new Error('db password=hunter2 leaked')) : big) as never,
    });
    const sink = new Sink();
    d.accept(request('a'), sink, 1000);
    d.accept(request('b'), sink, 1000);
    await flush();
    await flush();
    expect(sink.frames.find((f) => f.id === 'a')).toMatchObject({
      error: { code: 'internal', message: 'internal error' },
    });
    expect(sink.frames.find((f) => f.id === 'b')).toMatchObject({
      error: { code: 'bad_request', message: expect.stringContaining('1 MiB') },
    });
  });

  it('drain waits for running requests, then fails the rest with shutting_down', async () => {
    const { handler, pending } = gated();
    const { d, clock } = setup(handler);
    const sink = new Sink();
    d.accept(request('a'), sink, 1000);
    d.accept(request('b'), sink, 1000);
    await flush();
    const drained = d.drain(500);
    d.accept(request('late'), sink, 1000);
    expect(sink.frames).toEqual([
      expect.objectContaining({
        id: 'late',
        error: expect.objectContaining({ message: 'the credential manager is shutting down; retry in a moment' }),
      }),
    ]);
    pending[0]?.resolve({ credentials: [] });
    await flush();
    await clock.advance(500);
    await drained;
    expect(sink.frames.find((f) => f.id === 'a')).toMatchObject({ result: { credentials: [] } });
    expect(sink.frames.find((f) => f.id === 'b')).toMatchObject({ error: { retryable: true } });
    expect(pending[1]?.signal.aborted).toBe(true);
  });

  it('a closed channel aborts its requests without answering them', async () => {
    const { handler, pending } = gated();
    const { d, metrics } = setup(handler);
    const sink = new Sink();
    d.accept(request('a'), sink, 1000);
    await flush();
    sink.open = false;
    d.channelClosed(sink);
    expect(pending[0]?.signal.reason).toMatchObject({ code: 'channel.closed' });
    pending[0]?.resolve({ credentials: [] });
    await flush();
    expect(sink.frames).toHaveLength(0);
    expect(await metrics.metrics()).toContain(
      'ecm_bridge_channel_requests_total{site="s",op="credentials.list",outcome="channel_closed"} 1',
    );
  });

  it('drops a request without id (cannot be answered) and refuses an unknown or non-string op', async () => {
    const { handler, pending } = gated();
    const { d } = setup(handler);
    const sink = new Sink();
    d.accept(request(''), sink, 1000);
    d.accept(request('p', { op: 'credentials.steal' }), sink, 1000);
    d.accept(request('q', { op: { toString: 1 } }), sink, 1000);
    await flush();
    expect(pending).toHaveLength(0);
    const refused = (id: string, message: string) => ({
      type: 'response',
      id,
      error: { code: 'bad_request', message, retryable: false },
    });
    expect(sink.frames).toEqual([
      refused('p', 'unknown op "credentials.steal"'),
      refused('q', 'unknown op (not a string)'),
    ]);
  });

  it('does not count queued requests already answered by their deadline against maxQueued', async () => {
    const { handler, pending } = gated();
    const { d, clock } = setup(handler, 1, 1);
    const sink = new Sink();
    d.accept(request('a', { deadlineMs: 10_000 }), sink, 10_000);
    d.accept(request('b', { deadlineMs: 1000 }), sink, 10_000); // queued behind a
    await flush();
    await clock.advance(900); // b times out while still queued
    expect(sink.frames).toEqual([
      expect.objectContaining({ id: 'b', error: expect.objectContaining({ code: 'timeout' }) }),
    ]);
    d.accept(request('c', { deadlineMs: 10_000 }), sink, 10_000);
    await flush();
    expect(sink.frames.map((f) => f.id)).toEqual(['b']); // c queued, not refused as overloaded
    pending[0]?.resolve({ credentials: [] });
    await flush();
    await flush();
    expect(pending).toHaveLength(2); // c ran; b never did
    pending[1]?.resolve({ credentials: [] });
    await flush();
    expect(sink.frames.map((f) => f.id)).toEqual(['b', 'a', 'c']);
  });

  it('hands successful results it could not deliver back to the handler as undelivered answers', async () => {
    const { handler, pending } = gated();
    const dropped: { op: Op; result: unknown }[] = [];
    const { d, clock } = setup(handler, 4, 1, async (op, result) => void dropped.push({ op, result }));
    const get = (id: string, deadlineMs = 1000) =>
      request(id, { op: 'credentials.get', params: { credentialId: 'c1' }, deadlineMs });
    const result = (lease: string) => ({
      credential: { id: 'c1', username: 'u', password: 'p', leaseId: lease, expiresAt: '2026-01-01T00:30:00Z' },
    });
    const sink = new Sink();
    d.accept(get('late'), sink, 1000);
    d.accept(get('ok'), sink, 1000);
    await flush();
    // 1. answered with timeout first, the handler finishes afterwards
    await clock.advance(900);
    expect(sink.frames.map((f) => f.id)).toEqual(['late', 'ok']);
    pending[0]?.resolve(result('l-late'));
    // a failed handler is not a result: nothing to hand back
    pending[1]?.reject(new Error('boom'));
    await flush();
    expect(dropped).toEqual([{ op: 'credentials.get', result: result('l-late') }]);
    // 2. the channel closed while the handler ran
    d.accept(get('closed', 10_000), sink, 1000);
    await flush();
    sink.open = false;
    d.channelClosed(sink);
    pending[2]?.resolve(result('l-closed'));
    await flush();
    // 3. sending the response failed (channel gone without channelClosed yet)
    const sink2 = new Sink();
    d.accept(get('unsent', 10_000), sink2, 1000);
    await flush();
    sink2.open = false;
    pending[3]?.resolve(result('l-unsent'));
    await flush();
    // 4. a delivered result is not handed back
    const sink3 = new Sink();
    d.accept(get('delivered', 10_000), sink3, 1000);
    await flush();
    pending[4]?.resolve(result('l-delivered'));
    await flush();
    expect(sink3.frames).toEqual([{ type: 'response', id: 'delivered', result: result('l-delivered') }]);
    expect(dropped.map((x) => (x.result as ReturnType<typeof result>).credential.leaseId)).toEqual([
      'l-late',
      'l-closed',
      'l-unsent',
    ]);
  });

  it('a handler failing on an undelivered answer does not break the dispatcher', async () => {
    const { handler, pending } = gated();
    const { d, clock } = setup(handler, 1, 1, () => Promise.reject(new Error('handler failed')));
    const sink = new Sink();
    d.accept(request('a'), sink, 1000);
    await flush();
    await clock.advance(900);
    pending[0]?.resolve({ credentials: [] });
    await flush();
    d.accept(request('b'), sink, 1000);
    await flush();
    expect(pending).toHaveLength(2);
  });
});
