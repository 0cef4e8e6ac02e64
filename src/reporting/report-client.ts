import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import type { AccessTokenProvider } from '../appliance/access-token.js';
import { backoffDelay, type Clock } from '../platform/clock.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import { describeTlsFailure } from '../platform/http-agent.js';
import { Counter, metric, type Registry } from '../platform/metrics.js';
import { describeWindow, type ReportSource, type ReportWindow } from './report-source.js';
import type { SessionRecord, SessionSummary } from './session-record.js';
import {
  decodeReport,
  parseReport,
  parseSessionList,
  parseSessionListing,
  type ReportContext,
} from './report-xml-parser.js';

export interface ReportClientOptions {
  site: { name: string; url: string; product: 'pra' | 'rs' };
  tokens: AccessTokenProvider;
  /** An undici Agent with the site's connect/headers/body timeouts and CA (createHttpAgent). */
  dispatcher: Dispatcher;
  clock: Clock;
  retries: { max: number; baseDelayMs: number; maxDelayMs: number };
  log: Logger;
  metrics: Registry;
  random?: () => number;
}

export const REPORT_NAMES = {
  pra: { listing: 'AccessSessionListing', sessions: 'AccessSession', recording: 'AccessSessionRecording' },
  rs: { listing: 'SupportSessionListing', sessions: 'SupportSession', recording: 'SupportSessionRecording' },
} as const;

class Retryable extends Error {
  constructor(
    readonly reason: string,
    readonly retryAfterMs?: number,
    cause?: unknown,
  ) {
    super(reason, { cause });
  }
}

/**
 * The Reporting API of one site (`POST /api/reporting`, form-encoded). Each call uses its own
 * connection (`Connection: close`, as the API asks); transport errors, 5xx and 429 are retried
 * with capped full-jitter backoff on the injected clock (429 honours Retry-After up to the cap);
 * a 401 re-mints the token once. `<error>` answers become `appliance.api_error` naming the report
 * and window; unreadable XML becomes `report.xml_invalid`.
 */
export class ReportClient implements ReportSource {
  readonly #names;
  readonly #hostName: string;
  readonly #requests: Counter<'site' | 'report' | 'outcome'>;

  constructor(private readonly o: ReportClientOptions) {
    this.#names = REPORT_NAMES[o.site.product];
    this.#hostName = new URL(o.site.url).hostname;
    this.#requests = metric(
      o.metrics,
      'ecm_bridge_reporting_api_requests_total',
      () =>
        new Counter({
          name: 'ecm_bridge_reporting_api_requests_total',
          help: 'Reporting API calls by site, report and outcome (ok, retried, failed)',
          labelNames: ['site', 'report', 'outcome'] as const,
          registers: [o.metrics],
        }),
    );
  }

  #ctx(report: string, window: string): ReportContext {
    return { site: this.o.site.name, hostName: this.#hostName, report, window };
  }

  async listing(window: ReportWindow, signal?: AbortSignal): Promise<SessionSummary[]> {
    const ctx = this.#ctx(this.#names.listing, describeWindow(window));
    const params = {
      generate_report: ctx.report,
      [`${window.by}_time`]: String(Math.floor(window.fromMs / 1000)),
      duration: String(Math.max(1, Math.ceil((window.toMs - window.fromMs) / 1000))),
    };
    const res = await this.#call(params, ctx, signal);
    return parseSessionListing(decodeReport(new Uint8Array(await res.body.arrayBuffer()), ctx), ctx);
  }

  async sessions(lsids: readonly string[], context: string, signal?: AbortSignal): Promise<SessionRecord[]> {
    if (lsids.length === 0) return [];
    const ctx = this.#ctx(this.#names.sessions, `${lsids.length} lsids of ${context}`);
    const res = await this.#call({ generate_report: ctx.report, lsids: lsids.join(',') }, ctx, signal);
    return parseSessionList(decodeReport(new Uint8Array(await res.body.arrayBuffer()), ctx), ctx);
  }

  async recording(lsid: string, signal?: AbortSignal): Promise<{ body: Readable; extension: string }> {
    const ctx = this.#ctx(this.#names.recording, `lsid ${lsid}`);
    const res = await this.#call({ generate_report: ctx.report, lsid }, ctx, signal);
    const type = String(res.headers['content-type'] ?? '');
    if (type.includes('xml')) {
      // An <error> document instead of the file: parseReport throws it as appliance.api_error.
      parseReport(await res.body.text(), ctx);
      throw new ServiceError(
        'appliance.api_error',
        `${ctx.report} for ${ctx.window} on site ${ctx.site} returned XML instead of a recording`,
        { op: 'report.recording', details: { site: ctx.site, lsid } },
      );
    }
    const name = /filename="?[^";]*\.([A-Za-z0-9]{1,8})"?/.exec(String(res.headers['content-disposition'] ?? ''));
    return { body: res.body, extension: name?.[1]?.toLowerCase() ?? 'bin' };
  }

  /** One logical call: retries, one re-mint on 401; resolves with a 200 response whose body is unread. */
  async #call(
    params: Record<string, string>,
    ctx: ReportContext,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const { max, baseDelayMs, maxDelayMs } = this.o.retries;
    let reminted = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.#once(params, ctx, signal);
        if (res === 'unauthorized') {
          if (reminted)
            throw new ServiceError(
              'appliance.auth_failed',
              `site ${ctx.site} rejected a freshly minted token for the Reporting API`,
              { op: 'report.fetch', details: { site: ctx.site, report: ctx.report } },
            );
          reminted = true;
          attempt--;
          continue;
        }
        this.#requests.inc({ site: ctx.site, report: ctx.report, outcome: 'ok' });
        return res;
      } catch (e) {
        if (!(e instanceof Retryable)) {
          this.#requests.inc({ site: ctx.site, report: ctx.report, outcome: 'failed' });
          throw e;
        }
        if (attempt >= max) {
          this.#requests.inc({ site: ctx.site, report: ctx.report, outcome: 'failed' });
          throw new ServiceError(
            'appliance.unavailable',
            `${ctx.report} (${ctx.window}) on site ${ctx.site} failed after ${attempt + 1} attempts: ${e.reason}`,
            {
              op: 'report.fetch',
              cause: e.cause,
              details: { site: ctx.site, report: ctx.report, window: ctx.window },
            },
          );
        }
        const delay =
          e.retryAfterMs !== undefined
            ? Math.min(e.retryAfterMs, maxDelayMs)
            : backoffDelay(attempt, baseDelayMs, maxDelayMs, this.o.random);
        this.#requests.inc({ site: ctx.site, report: ctx.report, outcome: 'retried' });
        this.o.log.warn(
          {
            site: ctx.site,
            report: ctx.report,
            window: ctx.window,
            attempt: attempt + 1,
            delayMs: delay,
            reason: e.reason,
          },
          'Reporting API call failed; retrying',
        );
        await this.o.clock.sleep(delay, signal);
      }
    }
  }

  async #once(
    params: Record<string, string>,
    ctx: ReportContext,
    signal?: AbortSignal,
  ): Promise<Dispatcher.ResponseData | 'unauthorized'> {
    let token;
    try {
      token = await this.o.tokens.token(signal);
    } catch (e) {
      // A mint that failed for a transient reason (appliance down, 5xx) is retried like the call.
      if (isServiceError(e) && e.retryable && !signal?.aborted)
        throw new Retryable(`token: ${e.message}`, undefined, e);
      throw e;
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL('/api/reporting', this.o.site.url), {
        method: 'POST',
        dispatcher: this.o.dispatcher,
        headers: {
          authorization: `Bearer ${token.reveal()}`,
          'content-type': 'application/x-www-form-urlencoded',
          connection: 'close',
        },
        body: new URLSearchParams(params).toString(),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const tls = describeTlsFailure(e, new URL(this.o.site.url).host);
      if (tls)
        throw new ServiceError('appliance.tls', tls, { op: 'report.fetch', cause: e, details: { site: ctx.site } });
      throw new Retryable(`transport error (${(e as { code?: string }).code ?? (e as Error).name})`, undefined, e);
    }
    const status = res.statusCode;
    if (status === 200) return res;
    const text = (await res.body.text().catch(() => '')).slice(0, 500);
    if (status === 401) {
      this.o.tokens.invalidate(token);
      return 'unauthorized';
    }
    if (status === 429 || status >= 500) {
      const after = Number(res.headers['retry-after']);
      throw new Retryable(`HTTP ${status}`, status === 429 && Number.isFinite(after) ? after * 1000 : undefined);
    }
    if (status === 403) {
      const perm = this.o.site.product === 'rs' ? 'perm_reporting_support' : 'perm_reporting';
      throw new ServiceError(
        'appliance.permission_missing',
        `site ${ctx.site}: the reporting API account lacks ${perm} (HTTP 403 on ${ctx.report})`,
        { op: 'report.fetch', details: { site: ctx.site, report: ctx.report } },
      );
    }
    throw new ServiceError(
      'appliance.api_error',
      `${ctx.report} (${ctx.window}) on site ${ctx.site} answered HTTP ${status}: ${text.replace(/\s+/g, ' ').trim()}`,
      {
        op: 'report.fetch',
        details: { site: ctx.site, report: ctx.report, window: ctx.window, status },
      },
    );
  }
}
