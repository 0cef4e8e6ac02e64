import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock.js';
import { ServiceError, toServiceError } from '../../platform/errors.js';
import type { RequestHandler } from './appliance-link.js';
import type { LinkMetrics } from './link-metrics.js';
import { toWireError, wireCode } from './wire-errors.js';
import {
  MAX_FRAME_BYTES,
  OPS,
  type Op,
  type OpResults,
  type RequestContext,
  type ResponseFrame,
} from '../../protocol/ecm-protocol.js';

/** Why an answered request's signal ends (its handler has finished; only the deadline wait still listens). */
const ANSWERED = Symbol('answered');

/** The longest deadline a request may ask for (one day); beyond it the value is capped. */
const MAX_DEADLINE_MS = 86_400_000;

/** Where the answer to a request goes: the channel it arrived on. */
export interface ResponseSink {
  /** Sends one serialised response frame; false when the channel is gone. */
  send(frameJson: string): boolean;
}

interface Job {
  id: string;
  op: Op;
  context: RequestContext;
  params: Record<string, unknown>;
  sink: ResponseSink;
  controller: AbortController;
  startedAt: number;
  answered: boolean;
}

export interface RequestDispatcherOptions {
  site: string;
  maxConcurrent: number;
  /** Waiting requests beyond the running ones; more are refused with `channel.overloaded`. */
  maxQueued: number;
  clock: Clock;
  log: Logger;
  metrics: LinkMetrics;
}

/**
 * Runs console requests against the RequestHandler: validates the frame, enforces the
 * concurrency limit and each request's deadline (the handler's AbortSignal fires a little before
 * the appliance's own deadline, and the ECM answers `timeout` itself), and guarantees exactly one
 * response per request id. Requests outlive a channel only to be aborted: when their channel
 * closes they are failed (the appliance already answered them), never answered twice.
 */
export class RequestDispatcher {
  readonly #running = new Set<Job>();
  /**
   * Request ids accepted per channel, kept until the request's deadline has passed (answered or
   * not): within that lifetime the appliance may still be waiting, so a repeat is never run again.
   */
  readonly #ids = new WeakMap<ResponseSink, Map<string, { expiresAt: number; job?: Job }>>();
  readonly #queue: Job[] = [];
  #draining = false;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(
    private readonly o: RequestDispatcherOptions,
    private readonly handler: () => RequestHandler,
  ) {}

  get inFlight(): number {
    return this.#running.size + this.#queue.length;
  }

  /**
   * Takes one `request` frame (already JSON-parsed) from `sink`'s channel. Whatever one request
   * provokes stays with that request: an unexpected failure answers it `internal` (when it has an
   * id) and the channel goes on serving everybody else.
   */
  accept(frame: Record<string, unknown>, sink: ResponseSink, defaultDeadlineMs: number): void {
    try {
      this.#accept(frame, sink, defaultDeadlineMs);
    } catch (e) {
      const id = typeof frame.id === 'string' ? frame.id : undefined;
      this.o.log.error({ site: this.o.site, requestId: id, err: e }, 'unexpected failure accepting a request');
      this.o.metrics.request('unknown', 'internal', 0);
      const job = id === undefined ? undefined : this.#ids.get(sink)?.get(id)?.job;
      if (id !== undefined && !job?.answered) sink.send(errorFrame(id, toServiceError(e, 'ecm.request')));
    }
  }

  #accept(frame: Record<string, unknown>, sink: ResponseSink, defaultDeadlineMs: number): void {
    const id = typeof frame.id === 'string' && frame.id !== '' ? frame.id : undefined;
    if (!id) {
      this.o.log.warn({ site: this.o.site }, 'request frame without an id dropped (cannot be answered)');
      this.o.metrics.request('unknown', 'dropped', 0);
      return;
    }
    // Capped: timers take at most 2^31-1 ms, and a longer value would fire at once.
    const deadlineMs = Math.min(
      MAX_DEADLINE_MS,
      typeof frame.deadlineMs === 'number' && frame.deadlineMs > 0 ? frame.deadlineMs : defaultDeadlineMs,
    );
    const ids = this.#liveIds(sink);
    if (ids.has(id)) {
      // Exactly one answer per id: a repeat within the request's lifetime is neither run nor
      // answered; the answer to the first one is the answer.
      this.o.log.warn(
        { site: this.o.site, requestId: id },
        'repeated request id ignored (already accepted on this channel)',
      );
      this.o.metrics.request('unknown', 'duplicate', 0);
      return;
    }
    const entry: { expiresAt: number; job?: Job } = { expiresAt: this.o.clock.now() + deadlineMs };
    ids.set(id, entry);
    const op = OPS.includes(frame.op as Op) ? (frame.op as Op) : undefined;
    const job: Job = {
      id,
      op: op ?? ('unknown' as Op),
      context: frame.context as RequestContext,
      params: frame.params as Record<string, unknown>,
      sink,
      controller: new AbortController(),
      startedAt: this.o.clock.now(),
      answered: false,
    };
    entry.job = job;
    // One console request fans out into parallel vault calls, each listening on this signal.
    setMaxListeners(64, job.controller.signal);
    // Context and params are validated once, by the handler (broker-mapper.ts); here only what
    // routing needs: an id to answer and a known op.
    if (!op) {
      const problem = `unknown op ${typeof frame.op === 'string' ? `"${frame.op.slice(0, 64)}"` : '(not a string)'}`;
      this.#answer(job, new ServiceError('request.bad', problem, { op: 'ecm.request', details: { requestId: id } }));
      return;
    }
    if (this.#draining) {
      this.#answer(
        job,
        new ServiceError('service.shutting_down', 'the credential manager is shutting down; retry in a moment', {
          op: 'ecm.request',
        }),
      );
      return;
    }
    // Answer ourselves shortly before the appliance gives up, so the console sees why.
    const localMs = Math.max(1, deadlineMs - Math.min(250, deadlineMs * 0.1));
    this.o.clock.sleep(localMs, job.controller.signal).then(
      () =>
        this.#answer(
          job,
          new ServiceError('service.timeout', `the request did not finish within ${deadlineMs} ms`, {
            op: `ecm.${job.op}`,
          }),
        ),
      () => undefined,
    );
    if (this.#running.size < this.o.maxConcurrent) return this.#run(job);
    // Jobs answered while queued (deadline, channel closed) must not count against the limit.
    this.#prune();
    if (this.#queue.length >= this.o.maxQueued) {
      this.#answer(
        job,
        new ServiceError('channel.overloaded', 'the credential manager is busy; retry in a moment', {
          op: 'ecm.request',
        }),
      );
      return;
    }
    this.#queue.push(job);
    this.o.metrics.inflight(this.inFlight);
  }

  /** The live request ids of `sink`'s channel, expired ones dropped (oldest first, amortised O(1)). */
  #liveIds(sink: ResponseSink): Map<string, { expiresAt: number; job?: Job }> {
    let ids = this.#ids.get(sink);
    if (!ids) this.#ids.set(sink, (ids = new Map()));
    const now = this.o.clock.now();
    for (const [id, e] of ids) {
      if (e.expiresAt > now) break;
      ids.delete(id);
    }
    return ids;
  }

  /** The channel `sink` closed: its unanswered requests are aborted and counted, not answered. */
  channelClosed(sink: ResponseSink): void {
    for (const job of [...this.#running, ...this.#queue]) {
      if (job.sink !== sink || job.answered) continue;
      job.answered = true;
      job.controller.abort(
        new ServiceError('channel.closed', 'the ECM channel closed before the answer was sent', {
          op: `ecm.${job.op}`,
        }),
      );
      this.o.metrics.request(job.op, 'channel_closed', this.#elapsed(job));
      this.o.log.warn(
        { site: this.o.site, requestId: job.id, op: job.op },
        'channel closed before the request was answered; the appliance fails it',
      );
    }
    this.#prune();
    this.#notifyIdle();
  }

  /**
   * Stops taking requests, waits up to `graceMs` for running ones, then fails the rest
   * explicitly with `service.shutting_down`.
   */
  async drain(graceMs: number): Promise<void> {
    this.#draining = true;
    if (this.#unanswered() > 0) {
      const timer = new AbortController();
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      await Promise.race([idle, this.o.clock.sleep(graceMs, timer.signal).catch(() => undefined)]);
      timer.abort();
    }
    for (const job of [...this.#running, ...this.#queue]) {
      this.#answer(
        job,
        new ServiceError('service.shutting_down', 'the credential manager is shutting down; retry in a moment', {
          op: `ecm.${job.op}`,
        }),
      );
    }
    this.#queue.length = 0;
  }

  #unanswered(): number {
    let n = 0;
    for (const job of this.#running) if (!job.answered) n++;
    for (const job of this.#queue) if (!job.answered) n++;
    return n;
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0 || this.#unanswered() > 0) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #run(job: Job): void {
    this.#running.add(job);
    this.o.metrics.inflight(this.inFlight);
    const handler = this.handler();
    Promise.resolve()
      .then(() => handler.handle(job.op, job.context, job.params as never, job.controller.signal))
      .then(
        (result) => {
          if (!this.#answer(job, result)) this.#undelivered(job, handler, result);
        },
        (e) => this.#answer(job, e),
      )
      .finally(() => {
        this.#running.delete(job);
        this.#pump();
      });
  }

  #pump(): void {
    this.#prune();
    while (this.#running.size < this.o.maxConcurrent && this.#queue.length > 0) this.#run(this.#queue.shift() as Job);
    this.o.metrics.inflight(this.inFlight);
  }

  /** Drops queued jobs that were already answered (deadline, channel closed). */
  #prune(): void {
    for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]?.answered) this.#queue.splice(i, 1);
  }

  /**
   * A successful result that never reached the appliance (the request was already answered: local
   * deadline, channel closed, shutdown; or its response could not be sent) goes back to the
   * handler that produced it, as the event "answer not delivered": what it means (a checkout to
   * check back in) is the handler's business, never the channel's.
   */
  #undelivered(job: Job, handler: RequestHandler, result: OpResults[Op]): void {
    if (!handler.undelivered) return;
    Promise.resolve()
      .then(() => handler.undelivered?.(job.op, result))
      .catch((e: unknown) =>
        this.o.log.error(
          { site: this.o.site, requestId: job.id, op: job.op, err: e },
          'the handler failed on an undelivered answer',
        ),
      );
  }

  /**
   * Sends the one response of `job`: a result object, or an error (anything thrown). True when
   * this call delivered a successful result frame to the channel.
   */
  #answer(job: Job, outcome: unknown): boolean {
    if (job.answered) return false;
    job.answered = true;
    // Stops the deadline timer and, when we answered first (timeout, shutdown), the handler too.
    // After a success the handler is done; the reason is a constant because an abort without one
    // builds a DOMException (with its stack) per request, a measurable share of a cached list.
    job.controller.abort(outcome instanceof Error ? outcome : ANSWERED);
    let text: string;
    let label = 'ok';
    if (outcome instanceof Error) {
      const err = toServiceError(outcome, `ecm.${job.op}`);
      if (err.code === 'internal')
        this.o.log.error({ site: this.o.site, requestId: job.id, op: job.op, err: outcome }, 'request handler failed');
      text = errorFrame(job.id, err);
      label = wireCode(err.code);
    } else {
      text = JSON.stringify({ type: 'response', id: job.id, result: outcome as OpResults[Op] } satisfies ResponseFrame);
      // Serialised once: the length check and the send share the text.
      if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
        const err = new ServiceError(
          'request.too_large',
          'the answer is larger than the 1 MiB frame limit; narrow the request',
          { op: `ecm.${job.op}` },
        );
        text = errorFrame(job.id, err);
        label = wireCode(err.code);
      }
    }
    let delivered = false;
    try {
      delivered = job.sink.send(text);
    } catch (e) {
      this.o.log.warn({ site: this.o.site, requestId: job.id, op: job.op, err: e }, 'sending the response failed');
    }
    this.o.metrics.request(job.op, delivered ? label : 'channel_closed', this.#elapsed(job));
    this.o.log.debug(
      { site: this.o.site, requestId: job.id, op: job.op, outcome: label, delivered },
      'request answered',
    );
    this.#notifyIdle();
    return delivered && label === 'ok';
  }

  #elapsed(job: Job): number {
    return Math.max(0, this.o.clock.now() - job.startedAt) / 1000;
  }
}

function errorFrame(id: string, err: ServiceError): string {
  return JSON.stringify({ type: 'response', id, error: toWireError(err) } satisfies ResponseFrame);
}
