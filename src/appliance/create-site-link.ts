import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../platform/clock.js';
import type { SiteConfig } from '../platform/config/schema.js';
import type { Component } from '../platform/lifecycle.js';
import type { Readiness } from '../platform/readiness.js';
import type { ApplianceLink, RequestHandler } from './appliance-link.js';
import { SiteLink } from './site-link.js';

export interface SiteLinkFactoryDeps {
  log: Logger;
  metrics: Registry;
  readiness: Readiness;
  clock: Clock;
  instanceId: string;
  /** Handler used when the link is started as a service unit (`start()` without arguments). */
  handler?: RequestHandler;
}

/**
 * The ApplianceLink of one site over the ECM channel (protocol v1). It registers its readiness
 * probe `site:<name>` and its metrics on the given registry when started.
 */
export function createSiteLink(site: SiteConfig, deps: SiteLinkFactoryDeps): ApplianceLink & Component {
  return new SiteLink(site, deps);
}
