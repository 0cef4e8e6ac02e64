import type { IncomingMessage, ServerResponse } from 'node:http';
import { ReportXmlWriter, type NamespaceStyle } from './report-xml-writer.js';
import type { SessionGenerator } from './session-generator.js';

/**
 * A failure the simulator can be told to produce for chosen requests (tests of the client and
 * worker). `omit_first`: a full-session report that silently leaves out the first session it
 * was asked for (the listing still names it). `trickle`: a recording download that sends one byte
 * every 100 ms and never ends (under any per-chunk timeout), until the client goes away.
 */
export type ReportFault = 'malformed' | 'error' | 'status500' | 'status429' | 'omit_first' | 'trickle';

export interface ReportRequest {
  /** 1-based number of this request. */
  seq: number;
  report: string;
  params: URLSearchParams;
}

export interface ReportingSimulatorOptions {
  generator: SessionGenerator;
  /** The appliance's "now": sessions planned to end later are still in progress. */
  now: () => number;
  /** Response namespace; `rotate` cycles real, docs, prefixed per response. Default rotate. */
  namespaces?: NamespaceStyle | 'rotate';
  fault?: (request: ReportRequest) => ReportFault | undefined;
  /** Which sessions this node holds (a failover node before a data sync); default all. */
  visible?: (index: number) => boolean;
  /**
   * Recordings this node does not hold itself (an Atlas primary): the URL a `*SessionRecording`
   * request for session `index` is redirected to (302), or undefined for an `<error>` answer.
   */
  recordingElsewhere?: (index: number) => string | undefined;
  /**
   * Rewrites the XML element of session `index` (its listing entry or full session) before it is
   * sent: a test's appliance that reports one session out of the API's rules (a non-conforming
   * lsid, a missing start time) among good ones.
   */
  rewrite?: (index: number, element: string) => string;
}

const REPORTS = {
  pra: { listing: 'AccessSessionListing', sessions: 'AccessSession', recording: 'AccessSessionRecording' },
  rs: { listing: 'SupportSessionListing', sessions: 'SupportSession', recording: 'SupportSessionRecording' },
} as const;

const STYLES: NamespaceStyle[] = ['real', 'docs', 'prefixed'];
const CHUNK = 64 * 1024;

/**
 * The Reporting API side of the appliance simulator (`/api/reporting`), mounted by the simulator's
 * HTTPS server after its bearer-token and perm_reporting checks. Sessions come from a
 * SessionGenerator and are streamed in chunks, so a 100,000-session report never sits in memory.
 * Records what clients did (`stats`) so tests can assert the one-request-per-connection rule.
 */
export class ReportingSimulator {
  /** `sessionsServed` counts full sessions (not listing entries). */
  readonly stats = {
    requests: 0,
    withoutConnectionClose: 0,
    faults: 0,
    sessionsServed: 0,
    byReport: {} as Record<string, number>,
  };
  /** Lsids deleted on the appliance: no listing or report names them any more. */
  readonly deleted = new Set<string>();

  constructor(private readonly options: ReportingSimulatorOptions) {}

  /** The handler: `(req, res, body)`, body being the already-read request body. */
  readonly handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const seq = ++this.stats.requests;
    const closeAsked = String(req.headers.connection ?? '').toLowerCase() === 'close';
    if (!closeAsked) this.stats.withoutConnectionClose++;
    const style = this.#style(seq);
    const w = new ReportXmlWriter(style);
    const params = this.#params(req, body);
    if (!params)
      return this.#xml(res, 200, w.error('POST requests must be application/x-www-form-urlencoded'), closeAsked);
    const report = params.get('generate_report') ?? '';
    this.stats.byReport[report] = (this.stats.byReport[report] ?? 0) + 1;
    const fault = this.options.fault?.({ seq, report, params });
    if (fault) this.stats.faults++;
    if (fault && fault !== 'omit_first') return this.#fault(res, fault, w, closeAsked);
    const names = REPORTS[this.options.generator.options.product];
    const now = this.options.now();
    if (report === names.recording) return this.#recording(res, params, w, closeAsked);
    if (report !== names.listing && report !== names.sessions)
      return this.#xml(res, 200, w.error(`Invalid report type: ${report || '(none)'}`), closeAsked);
    const selection = this.#select(params, now);
    if (typeof selection === 'string') return this.#xml(res, 200, w.error(selection), closeAsked);
    res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8', ...(closeAsked ? { connection: 'close' } : {}) });
    const root = report === names.listing ? 'session_summary_list' : 'session_list';
    let buffer = w.head(root);
    const g = this.options.generator;
    let omit = fault === 'omit_first' && root === 'session_list';
    for (const i of selection) {
      if (this.options.visible && !this.options.visible(i)) continue;
      if (this.deleted.has(g.lsidOf(i))) continue;
      if (omit) {
        omit = false;
        continue;
      }
      const element =
        root === 'session_summary_list'
          ? w.summary(g.lsidOf(i), g.hasRecording(i) && g.isClosed(i, now))
          : w.session(g.session(i, now), g.options.product);
      buffer += this.options.rewrite ? this.options.rewrite(i, element) : element;
      if (root === 'session_list') this.stats.sessionsServed++;
      if (buffer.length >= CHUNK) {
        if (!res.write(buffer)) await new Promise((r) => res.once('drain', r));
        buffer = '';
      }
    }
    res.end(buffer + w.tail(root));
  };

  #style(seq: number): NamespaceStyle {
    const n = this.options.namespaces ?? 'rotate';
    return n === 'rotate' ? STYLES[seq % STYLES.length]! : n;
  }

  #params(req: IncomingMessage, body: Buffer): URLSearchParams | undefined {
    if (req.method === 'POST') {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
      return new URLSearchParams(body.toString('utf8'));
    }
    return new URL(req.url ?? '/', 'http://simulator').searchParams;
  }

  /** The indexes a selection covers, or an error message like the appliance's. */
  #select(p: URLSearchParams, now: number): Iterable<number> | string {
    const g = this.options.generator;
    const lsids = p.get('lsids') ?? p.get('lsid');
    if (lsids !== null) {
      return lsids
        .split(',')
        .map((l) => g.indexOf(l.trim()))
        .filter((i): i is number => i !== undefined && g.startMs(i) <= now);
    }
    const duration = p.get('duration');
    const span = (unitMs: number, from: number) => {
      const d = Number(duration ?? 0);
      return d === 0 ? now + 1 : from + d * unitMs;
    };
    for (const kind of ['start', 'end'] as const) {
      const time = p.get(`${kind}_time`);
      const date = p.get(`${kind}_date`);
      let from: number | undefined;
      let to: number | undefined;
      if (time !== null && /^\d+$/.test(time)) {
        from = Number(time) * 1000;
        to = span(1000, from);
      } else if (date !== null && /^\d{4}-\d{2}-\d{2}$/.test(date)) {
        from = Date.parse(`${date}T00:00:00Z`);
        to = span(86_400_000, from);
      } else if (time !== null || date !== null) {
        return `Invalid ${kind}_time/${kind}_date`;
      }
      if (from !== undefined && to !== undefined)
        return kind === 'start' ? g.startedIn(from, to, now) : g.endedIn(from, to, now);
    }
    return 'One of start_time, start_date, end_time, end_date, lsid or lsids is required';
  }

  #recording(res: ServerResponse, p: URLSearchParams, w: ReportXmlWriter, close: boolean): void {
    const g = this.options.generator;
    const i = g.indexOf(p.get('lsid') ?? '');
    if (
      i === undefined ||
      !g.hasRecording(i) ||
      !g.isClosed(i, this.options.now()) ||
      (this.options.visible && !this.options.visible(i))
    )
      return this.#xml(res, 200, w.error('No recording for this session'), close);
    if (this.options.recordingElsewhere) {
      const location = this.options.recordingElsewhere(i);
      if (location === undefined) return this.#xml(res, 200, w.error('No recording for this session'), close);
      return void res.writeHead(302, { location, ...(close ? { connection: 'close' } : {}) }).end();
    }
    const data = g.recording(i);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': data.length,
      'content-disposition': `attachment; filename="${g.lsidOf(i)}.flv"`,
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(data);
  }

  #fault(res: ServerResponse, fault: Exclude<ReportFault, 'omit_first'>, w: ReportXmlWriter, close: boolean): void {
    if (fault === 'status500')
      return void res
        .writeHead(500, { 'content-type': 'text/plain', ...(close ? { connection: 'close' } : {}) })
        .end('Internal Server Error');
    if (fault === 'status429')
      return void res
        .writeHead(429, { 'retry-after': '1', ...(close ? { connection: 'close' } : {}) })
        .end('Too Many Requests');
    if (fault === 'error') return this.#xml(res, 200, w.error('Report generation failed: database busy'), close);
    if (fault === 'trickle') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-disposition': 'attachment; filename="trickle.flv"',
      });
      const timer = setInterval(() => res.write('x'), 100);
      res.once('close', () => clearInterval(timer));
      return;
    }
    this.#xml(
      res,
      200,
      w.head('session_list') + '  <session lsid="broken"><start_time timestamp="1">\n' + w.tail('session_list'),
      close,
    );
  }

  #xml(res: ServerResponse, status: number, body: string, close: boolean): void {
    res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8', ...(close ? { connection: 'close' } : {}) });
    res.end(body);
  }
}
