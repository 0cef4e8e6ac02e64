import { ClusterHosts } from '../../appliance/topology/cluster-hosts.js';
import { PrimaryFollower } from '../../appliance/topology/primary-follower.js';
import { SiteTargets } from '../../appliance/topology/site-targets.js';
import { createHttpAgent } from '../../platform/http-agent.js';
import { ReportClient } from '../../reporting/report-client.js';
import type { ReportSourceFactory } from '../../reporting/report-source.js';
import { primaryView } from './primary-view.js';
import type { Runtime } from '../runtime.js';

/**
 * The Reporting API client of each site: its own undici Agent (site timeouts and CA, one
 * connection: every call sends `Connection: close` anyway) and the site's reporting account (a
 * separate account from the ECM one, so report pulls never consume the channel's tokens). With
 * `nodes`, requests follow the health-aware primary exactly like the ECM channel (PrimaryFollower
 * over SiteTargets). Recordings come from the cluster node their report URL names (ClusterHosts:
 * Atlas traffic nodes by their mapped internal names, certificates verified against the public
 * names). `close()` releases every socket the site's reporting used.
 */
export function siteReportSources(rt: Pick<Runtime, 'clock' | 'log' | 'metrics'>): ReportSourceFactory {
  return (site, reporting) => {
    const account = site.reporting;
    if (!account) throw new Error(`site ${site.name} has no reporting API account`);
    const cluster = new ClusterHosts(site);
    const agent = createHttpAgent({
      connectTimeoutMs: site.timeouts.connectMs,
      requestTimeoutMs: site.timeouts.requestMs,
      connections: 1,
      verifyNames: cluster.verifyNames(),
      ...(site.proxy ? { proxy: site.proxy } : {}),
      ...(site.caFile ? { caFile: site.caFile } : {}),
    });
    const targets = new SiteTargets(site, account, agent, rt.clock, rt.log, rt.metrics);
    const follower = new PrimaryFollower(site.url, targets, agent);
    const source = new ReportClient({
      site: { name: site.name, url: site.url, product: site.product },
      tokens: follower,
      dispatcher: follower.dispatcher,
      clock: rt.clock,
      retries: reporting.retries,
      log: rt.log,
      metrics: rt.metrics,
      cluster,
    });
    return {
      source,
      close: () => agent.close(),
      primary: (signal?: AbortSignal) => primaryView(site, follower, rt.clock, signal),
    };
  };
}
