import type { Dispatcher } from 'undici';
import { ServiceError } from '../platform/errors.js';
import type { RecordingFile } from './report-source.js';

/** One request of the Reporting API client: a form POST to the site, or a GET of a download URL. */
export interface ApiRequest {
  url: URL;
  /** POSTed form-encoded; a GET without it. */
  form?: Record<string, string>;
  /** A recording request: a redirect is returned to the caller (which follows it within the cluster). */
  mayRedirect?: boolean;
  /** A request to an Atlas traffic node: its public name (the URL may name its mapped address). */
  node?: string;
}

/** Where recording URLs may be fetched (implemented by the appliance's ClusterHosts). */
export interface RecordingRoutes {
  /** The URL to request for `url` on its cluster node, or undefined when it names no cluster host. */
  route(url: URL): { url: URL; node: string; kind: 'site' | 'traffic' } | undefined;
  /** The cluster's hosts, for the refusal message. */
  describe(): string;
}

export const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/** Redirects followed per recording: a primary handing over to a traffic node takes one. */
export const MAX_REDIRECTS = 3;

interface Refusal {
  site: string;
  /** `lsid X` or `lsid X shell N`. */
  what: string;
  cluster: RecordingRoutes | undefined;
}

function refused(r: Refusal, url: URL, how: string): ServiceError {
  // Only the host is named: a download URL's query may carry a one-time key.
  return new ServiceError(
    'report.recording_host_refused',
    `site ${r.site}: the recording of ${r.what} ${how} ${url.protocol}//${url.host}, not a host of the site's cluster (${r.cluster?.describe() ?? 'the site URL only'}); it was not contacted. If it is an Atlas traffic node, list it in the site's atlas.trafficNodes (and atlas.hostMap when reached by another name)`,
    { op: 'report.recording', details: { site: r.site, host: url.host } },
  );
}

const routed = (route: NonNullable<ReturnType<RecordingRoutes['route']>>): ApiRequest => ({
  url: route.url,
  mayRedirect: true,
  ...(route.kind === 'traffic' ? { node: route.node } : {}),
});

const parse = (raw: string, base?: URL): URL | undefined => {
  try {
    return new URL(raw, base);
  } catch {
    return undefined;
  }
};

/**
 * The first request for a recording file. A session recording whose report URL names a traffic
 * node is fetched from that node; otherwise from the site's Reporting API by lsid (`siteReport`),
 * where the primary may redirect to the node. A shell recording has no lsid report: its URL is
 * fetched when it names a cluster host and refused otherwise.
 */
export function recordingRequest(file: RecordingFile, siteReport: ApiRequest, r: Refusal): ApiRequest {
  const url = file.url === null ? undefined : parse(file.url);
  const route = url && r.cluster?.route(url);
  if (route && (route.kind === 'traffic' || file.instance !== undefined)) return routed(route);
  if (file.instance === undefined) return { ...siteReport, mayRedirect: true };
  if (!url)
    throw new ServiceError(
      'report.recording_host_refused',
      `site ${r.site}: the recording of ${r.what} has no usable download URL`,
      { op: 'report.recording', details: { site: r.site } },
    );
  throw refused(r, url, 'is at');
}

/**
 * The request a redirect answer leads to, or undefined when `res` is no redirect. 307/308 repeat
 * the request as it was; 301/302/303 become a GET, as browsers do. A Location outside the
 * cluster, or one redirect too many, throws.
 */
export function redirectTarget(
  res: Dispatcher.ResponseData,
  req: ApiRequest,
  hops: number,
  r: Refusal,
): ApiRequest | undefined {
  if (!REDIRECT_STATUS.has(res.statusCode)) return undefined;
  const location = parse(String(res.headers.location ?? ''), req.url);
  if (!location || String(res.headers.location ?? '') === '')
    throw new ServiceError(
      'appliance.api_error',
      `site ${r.site}: the recording of ${r.what} answered HTTP ${res.statusCode} without a usable Location`,
      { op: 'report.recording', details: { site: r.site, status: res.statusCode } },
    );
  const route = r.cluster?.route(location);
  if (!route) throw refused(r, location, `redirects to`);
  if (hops >= MAX_REDIRECTS)
    throw new ServiceError(
      'appliance.api_error',
      `site ${r.site}: the recording of ${r.what} redirected more than ${MAX_REDIRECTS} times (last to ${location.host})`,
      { op: 'report.recording', details: { site: r.site } },
    );
  const keep = res.statusCode === 307 || res.statusCode === 308;
  return { ...routed(route), ...(keep && req.form ? { form: req.form } : {}) };
}
