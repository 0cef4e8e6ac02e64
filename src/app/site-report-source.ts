import { OAuthTokenSource } from '../appliance/token-source.js';
import { createHttpAgent } from '../platform/http-agent.js';
import { ReportClient } from '../reporting/report-client.js';
import type { ReportSourceFactory } from '../reporting/report-source.js';
import type { Runtime } from './runtime.js';

/**
 * The Reporting API client of each site: its own undici Agent (site timeouts and CA, one
 * connection: every call sends `Connection: close` anyway), shared with the OAuth token source of
 * the site's reporting account (a separate account from the ECM one, so report pulls never
 * consume the channel's tokens). `close()` releases every socket the site's reporting used.
 */
export function siteReportSources(rt: Pick<Runtime, 'clock' | 'log' | 'metrics'>): ReportSourceFactory {
  return (site, reporting) => {
    const account = site.reporting;
    if (!account) throw new Error(`site ${site.name} has no reporting API account`);
    const agent = createHttpAgent({
      connectTimeoutMs: site.timeouts.connectMs,
      requestTimeoutMs: site.timeouts.requestMs,
      connections: 1,
      ...(site.caFile ? { caFile: site.caFile } : {}),
    });
    const tokens = new OAuthTokenSource({
      baseUrl: site.url.replace(/\/+$/, ''),
      clientId: account.clientId,
      clientSecret: account.clientSecret,
      dispatcher: agent,
      clock: rt.clock,
      log: rt.log,
      site: site.name,
    });
    const source = new ReportClient({
      site: { name: site.name, url: site.url, product: site.product },
      tokens,
      dispatcher: agent,
      clock: rt.clock,
      retries: reporting.retries,
      log: rt.log,
      metrics: rt.metrics,
    });
    return { source, close: () => agent.close() };
  };
}
