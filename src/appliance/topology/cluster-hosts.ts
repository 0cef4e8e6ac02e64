import { isAddress, originKey } from '../../platform/http-agent.js';
import type { SiteConfig } from '../site-config.js';

/** Where a URL the appliance handed out (a report's recording URL, a redirect) is fetched. */
export interface ClusterRoute {
  /** The URL to request: same path and query, on the address the bridge reaches that node by. */
  url: URL;
  /** The node as the appliance names it (public host[:port]), for logs and errors. */
  node: string;
  /** `traffic`: an Atlas traffic node; `site`: the site URL or one of its failover nodes. */
  kind: 'site' | 'traffic';
}

/** A traffic node as `check` probes it. */
export interface TrafficNode {
  /** The public name (host[:port]) report URLs carry. */
  node: string;
  /** `https://internal-host:port`, where the bridge connects. */
  origin: string;
}

export type ClusterSettings = Pick<SiteConfig, 'url' | 'nodes' | 'atlas' | 'tlsServerName'>;

const authority = originKey;

/**
 * The name the site's certificate must carry (`tlsServerName`, else the site URL's host), or
 * undefined when that is an IP address (nothing to verify a name against: the address is).
 */
export function siteServerName(site: Pick<SiteConfig, 'url' | 'tlsServerName'>): string | undefined {
  const name = (site.tlsServerName ?? new URL(site.url).hostname).toLowerCase();
  return isAddress(name) ? undefined : name;
}

const entryUrl = (entry: string) => new URL(`https://${entry}`);

/**
 * The hosts of one site's cluster: the site URL, its failover `nodes`, and the Atlas traffic
 * nodes under their public names and the internal names `atlas.hostMap` gives them. A URL is
 * matched by host and port exactly (an https URL on another port of the same host is another
 * server), and a URL naming anything else has no route: the bridge never sends it a request,
 * so the reporting token cannot leak to a host outside the cluster.
 */
export class ClusterHosts {
  readonly #site = new Set<string>();
  /** public authority → internal URL of the traffic node */
  readonly #traffic = new Map<string, { node: string; internal: URL }>();
  /** internal authority → public host name, for mapped traffic nodes */
  readonly #internal = new Map<string, { node: string; publicName: string }>();
  /** site URL / node authority → the site's certificate name, where the two differ */
  readonly #siteNames = new Map<string, string>();

  constructor(site: ClusterSettings) {
    const serverName = siteServerName(site);
    for (const u of [new URL(site.url), ...site.nodes.map(entryUrl)]) {
      this.#site.add(authority(u));
      if (serverName !== undefined && u.hostname.toLowerCase() !== serverName)
        this.#siteNames.set(authority(u), serverName);
    }
    const map = new Map(Object.entries(site.atlas?.hostMap ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    for (const node of site.atlas?.trafficNodes ?? []) {
      const pub = entryUrl(node);
      const mapped = map.get(pub.hostname.toLowerCase());
      const internal = mapped ? entryUrl(mapped) : pub;
      if (mapped && !internal.port) internal.port = pub.port;
      this.#traffic.set(authority(pub), { node, internal });
      if (mapped) this.#internal.set(authority(internal), { node, publicName: pub.hostname });
    }
  }

  /** The route of `url`, or undefined when it names no host of the cluster (or is not https). */
  route(url: URL): ClusterRoute | undefined {
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '') return undefined;
    const a = authority(url);
    const traffic = this.#traffic.get(a);
    if (traffic) {
      const to = new URL(url);
      to.hostname = traffic.internal.hostname;
      to.port = traffic.internal.port;
      return { url: to, node: traffic.node, kind: 'traffic' };
    }
    const internal = this.#internal.get(a);
    if (internal) return { url: new URL(url), node: internal.node, kind: 'traffic' };
    if (this.#site.has(a)) return { url: new URL(url), node: url.host, kind: 'site' };
    return undefined;
  }

  /**
   * The certificate name of every host reached by another name, by `host:port` (port always
   * written; createHttpAgent's and channelTransport's `verifyNames`), sent as SNI and verified:
   * the site URL and failover nodes given by IP or by their own names carry the site's
   * certificate (`siteServerName`: "identical certificate matching the site URL", as the failover
   * guides ask), and a mapped traffic node its public name.
   */
  verifyNames(): Map<string, string> {
    return new Map([...this.#siteNames, ...[...this.#internal].map(([a, v]) => [a, v.publicName] as const)]);
  }

  trafficNodes(): TrafficNode[] {
    return [...this.#traffic.values()].map((t) => ({ node: t.node, origin: t.internal.origin }));
  }

  /** The cluster's hosts as error messages list them. */
  describe(): string {
    return [...this.#site, ...this.#traffic.keys(), ...this.#internal.keys()].join(', ');
  }
}
