import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { AccessTokenProvider } from '../appliance/access-token.js';
import { ReportClient } from '../reporting/report-client.js';
import type { Clock } from '../platform/clock.js';
import type { ReportingConfig, SiteConfig } from './config-schema.js';
import { createHttpAgent } from '../platform/http-agent.js';

/** Builds the token provider of a site's reporting account, on the given dispatcher. */
export type SiteTokens = (site: SiteConfig, dispatcher: Dispatcher) => AccessTokenProvider;

export interface SiteReportSource {
  source: ReportClient;
  /** Closes the site's HTTP agent. */
  close(): Promise<void>;
}

/**
 * The Reporting API client of one site: its own undici Agent (site timeouts and CA, one
 * connection: every call sends `Connection: close` anyway), shared with the token provider
 * `tokens` builds, so `close()` releases every socket the site's reporting used.
 */
export function createSiteReportSource(
  site: SiteConfig,
  reporting: ReportingConfig,
  deps: { tokens: SiteTokens; clock: Clock; log: Logger; metrics: Registry },
): SiteReportSource {
  const agent = createHttpAgent({
    connectTimeoutMs: site.timeouts.connectMs,
    requestTimeoutMs: site.timeouts.requestMs,
    connections: 1,
    ...(site.caFile ? { caFile: site.caFile } : {}),
  });
  const source = new ReportClient({
    site: { name: site.name, url: site.url, product: site.product },
    tokens: deps.tokens(site, agent),
    dispatcher: agent,
    clock: deps.clock,
    retries: reporting.retries,
    log: deps.log,
    metrics: deps.metrics,
  });
  return { source, close: () => agent.close() };
}
