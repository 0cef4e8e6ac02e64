import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import type { AccessTokenProvider } from '../appliance/api/access-token.js';
import { mentionsXmlApi, xmlApiDisabled } from '../appliance/api/xml-api.js';
import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import { withBearer, type BearerTokenSource } from '../platform/http/bearer.js';
import { TransientFailure, withRetries, type RetryPolicy } from '../platform/http/retry.js';
import { parseRetryAfter } from '../platform/http/retry-after.js';
import { RETRYABLE_STATUS, transientCode, transportServiceError } from '../platform/http/transport-errors.js';
import { Counter, metric, type Registry } from '../platform/metrics.js';
import { describeWindow, type RecordingFile, type ReportSource, type ReportWindow } from './report-source.js';
import {
  recordingRequest,
  REDIRECT_STATUS,
  redirectTarget,
  type ApiRequest,
  type RecordingRoutes,
} from './recording-route.js';
import type { RejectedSession } from './rejected-session.js';
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
  retries: RetryPolicy;
  log: Logger;
  metrics: Registry;
  random?: () => number;
  /**
   * The hosts of the site's cluster (ClusterHosts): recording URLs and redirects are fetched only
   * from these. Without it no recording URL or redirect is followed (the session recording still
   * comes from the site's Reporting API).
   */
  cluster?: RecordingRoutes;
}

export const REPORT_NAMES = {
  pra: { listing: 'AccessSessionListing', sessions: 'AccessSession', recording: 'AccessSessionRecording' },
  rs: { listing: 'SupportSessionListing', sessions: 'SupportSession', recording: 'SupportSessionRecording' },
} as const;

/**
 * The Reporting API of one site (`POST /api/reporting`, form-encoded). Each call uses its own
 * connection (`Connection: close`, as the API asks). Retries are the shared `withRetries`
 * (network failures, 408/429/5xx, Retry-After honoured, a transient token mint failure too); the
 * bearer token comes through `withBearer`, which re-mints once on 401. Its own classification:
 * 403 is a missing reporting permission, `<error>` answers become `appliance.api_error` naming
 * the report and window, unreadable XML becomes `report.xml_invalid`.
 */
export class ReportClient implements ReportSource {
  readonly #names;
  readonly #hostName: string;
  readonly #api: URL;
  readonly #requests: Counter<'site' | 'report' | 'outcome'>;

  constructor(private readonly o: ReportClientOptions) {
    this.#names = REPORT_NAMES[o.site.product];
    this.#hostName = new URL(o.site.url).hostname;
    this.#api = new URL('/api/reporting', o.site.url);
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

  async listing(window: ReportWindow, signal?: AbortSignal, rejected?: RejectedSession[]): Promise<SessionSummary[]> {
    const ctx = this.#ctx(this.#names.listing, describeWindow(window));
    const params = {
      generate_report: ctx.report,
      [`${window.by}_time`]: String(Math.floor(window.fromMs / 1000)),
      duration: String(Math.max(1, Math.ceil((window.toMs - window.fromMs) / 1000))),
    };
    const res = await this.#call(this.#form(params), ctx, signal);
    return parseSessionListing(decodeReport(new Uint8Array(await res.body.arrayBuffer()), ctx), ctx, rejected);
  }

  async sessions(
    lsids: readonly string[],
    context: string,
    signal?: AbortSignal,
    rejected?: RejectedSession[],
  ): Promise<SessionRecord[]> {
    if (lsids.length === 0) return [];
    const ctx = this.#ctx(this.#names.sessions, `${lsids.length} lsids of ${context}`);
    const res = await this.#call(this.#form({ generate_report: ctx.report, lsids: lsids.join(',') }), ctx, signal);
    return parseSessionList(decodeReport(new Uint8Array(await res.body.arrayBuffer()), ctx), ctx, rejected);
  }

  /**
   * A recording from the node that holds it: the URL the report names when it is a traffic node
   * of the cluster, else the site's `*SessionRecording` report (session recordings) or the URL on
   * the site (shell recordings). Redirects are followed, at most MAX_REDIRECTS, only to hosts of
   * the cluster; anything else is `report.recording_host_refused` and never contacted.
   */
  async recording(file: RecordingFile, signal?: AbortSignal): Promise<{ body: Readable; extension: string }> {
    const what = file.instance === undefined ? `lsid ${file.lsid}` : `lsid ${file.lsid} shell ${file.instance}`;
    const ctx = this.#ctx(file.instance === undefined ? this.#names.recording : 'CommandShellRecording', what);
    const refuse = { site: ctx.site, what, cluster: this.o.cluster };
    let req = recordingRequest(file, this.#form({ generate_report: this.#names.recording, lsid: file.lsid }), refuse);
    for (let hops = 0; ; hops++) {
      const res = await this.#call(req, ctx, signal);
      let next: ApiRequest | undefined;
      try {
        next = redirectTarget(res, req, hops, refuse);
      } catch (e) {
        // A refused redirect still has a body: left unread it would hold its connection and its
        // listener on the worker's signal until garbage collection.
        await res.body.dump().catch(() => undefined);
        throw e;
      }
      if (next) {
        await res.body.dump();
        req = next;
        continue;
      }
      const type = String(res.headers['content-type'] ?? '');
      if (type.includes('xml')) {
        // An <error> document instead of the file: parseReport throws it as appliance.api_error.
        parseReport(await res.body.text(), ctx);
        throw new ServiceError(
          'appliance.api_error',
          `${ctx.report} for ${ctx.window} on site ${ctx.site} returned XML instead of a recording`,
          { op: 'report.recording', details: { site: ctx.site, lsid: file.lsid } },
        );
      }
      const name = /filename="?[^";]*\.([A-Za-z0-9]{1,8})"?/.exec(String(res.headers['content-disposition'] ?? ''));
      return { body: res.body, extension: name?.[1]?.toLowerCase() ?? 'bin' };
    }
  }

  recordingNode(file: RecordingFile): string | undefined {
    if (file.url === null || !URL.canParse(file.url)) return undefined;
    const route = this.o.cluster?.route(new URL(file.url));
    return route?.kind === 'traffic' ? route.node : undefined;
  }

  /** A Reporting API call on the site: POST, form-encoded. */
  #form(params: Record<string, string>): ApiRequest {
    return { url: this.#api, form: params };
  }

  /**
   * One logical call: retries, one re-mint on 401; resolves with a 200 response (or, for a
   * request that may redirect, a redirect) whose body is unread.
   */
  async #call(req: ApiRequest, ctx: ReportContext, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const count = (outcome: string) => this.#requests.inc({ site: ctx.site, report: ctx.report, outcome });
    try {
      const res = await withRetries(() => this.#once(req, ctx, signal), {
        policy: this.o.retries,
        clock: this.o.clock,
        ...(signal ? { signal } : {}),
        ...(this.o.random ? { random: this.o.random } : {}),
        giveUp: (f, attempts) =>
          new ServiceError(
            'appliance.unavailable',
            `${ctx.report} (${ctx.window}) on ${this.#where(req, ctx)} failed after ${attempts} attempts: ${f.what}`,
            {
              op: 'report.fetch',
              cause: f.cause,
              details: {
                site: ctx.site,
                report: ctx.report,
                window: ctx.window,
                ...(req.node ? { node: req.node } : {}),
                ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
              },
            },
          ),
        onRetry: (f, attempts, delayMs) => {
          count('retried');
          this.o.log.warn(
            { site: ctx.site, report: ctx.report, window: ctx.window, attempt: attempts, delayMs, reason: f.what },
            'Reporting API call failed; retrying',
          );
        },
      });
      count('ok');
      return res;
    } catch (e) {
      count('failed');
      throw e;
    }
  }

  /**
   * A download from an Atlas traffic node names that node (by its public name, and the address
   * it is reached by when mapped): its answers are not the primary's.
   */
  #where(req: ApiRequest, ctx: ReportContext): string {
    return req.url.origin === this.#api.origin ? `site ${ctx.site}` : `site ${ctx.site} (node ${nodeLabel(req)})`;
  }

  /** One attempt: a 200 response, a TransientFailure (withRetries decides), or an error. */
  async #once(req: ApiRequest, ctx: ReportContext, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const send = async (authorization: string) => {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(req.url, {
          dispatcher: this.o.dispatcher,
          ...(req.form
            ? {
                method: 'POST',
                headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
                body: new URLSearchParams(req.form).toString(),
              }
            : { method: 'GET', headers: { authorization, connection: 'close' } }),
          ...(signal ? { signal } : {}),
        });
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        const code = transientCode(e);
        if (code) throw new TransientFailure(`transport error (${code})`, { cause: e });
        throw transportServiceError(e, nodeLabel(req), {
          tls: 'appliance.tls',
          invalid: 'appliance.protocol',
          unavailable: 'appliance.unavailable',
          prefix: `site ${ctx.site}: `,
          op: 'report.fetch',
          details: { site: ctx.site, ...(req.node ? { node: req.node } : {}) },
        });
      }
      if (res.statusCode === 401) await res.body.dump();
      return res;
    };
    const tokens: BearerTokenSource = {
      token: (s) =>
        this.o.tokens.token(s).catch((e: unknown) => {
          // A mint that failed for a transient reason (appliance down, 5xx) is retried like the call.
          if (!isServiceError(e) || !e.retryable || signal?.aborted) throw e;
          const retryAfterMs = e.details?.retryAfterMs;
          throw new TransientFailure(`token: ${e.message}`, {
            cause: e,
            ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
          });
        }),
      invalidate: (t) => this.o.tokens.invalidate(t),
    };
    const res = await withBearer(tokens, send, (r) => r.statusCode === 401, signal);
    const status = res.statusCode;
    if (status === 200 || (req.mayRedirect && REDIRECT_STATUS.has(status))) return res;
    const where = this.#where(req, ctx);
    if (status === 401)
      throw new ServiceError(
        'appliance.auth_failed',
        `${where} rejected a freshly minted token for the Reporting API`,
        { op: 'report.fetch', details: { site: ctx.site, report: ctx.report } },
      );
    const text = (await res.body.text().catch(() => '')).slice(0, 500);
    if (RETRYABLE_STATUS.has(status))
      throw new TransientFailure(`HTTP ${status}`, {
        status,
        retryAfterMs: parseRetryAfter(res.headers['retry-after'], this.o.clock.now()),
      });
    if (status === 403) {
      if (mentionsXmlApi(text)) throw xmlApiDisabled(ctx.site, 'report.fetch');
      const perm = this.o.site.product === 'rs' ? 'perm_reporting_support' : 'perm_reporting';
      throw new ServiceError(
        'appliance.permission_missing',
        `${where}: the reporting API account lacks ${perm} (HTTP 403 on ${ctx.report})`,
        { op: 'report.fetch', details: { site: ctx.site, report: ctx.report } },
      );
    }
    throw new ServiceError(
      'appliance.api_error',
      `${ctx.report} (${ctx.window}) on ${where} answered HTTP ${status}: ${text.replace(/\s+/g, ' ').trim()}`,
      {
        op: 'report.fetch',
        details: { site: ctx.site, report: ctx.report, window: ctx.window, status },
      },
    );
  }
}

/** The host a request goes to; a mapped traffic node by its public name (its certificate's) and the address used. */
function nodeLabel(req: ApiRequest): string {
  return req.node && req.node !== req.url.host ? `${req.node} via ${req.url.host}` : req.url.host;
}
