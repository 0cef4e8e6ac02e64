import type { SiteConfig } from './config-schema.js';
import type { Component } from '../platform/lifecycle.js';
import type { ApplianceLink } from '../appliance/appliance-link.js';
import { SiteLink, type SiteLinkDeps } from '../appliance/site-link.js';

/** What the factory needs: the link's dependencies without the test-only knobs (jitter, backoff). */
export type SiteLinkFactoryDeps = Omit<SiteLinkDeps, 'random' | 'backoff'>;

/**
 * The ApplianceLink of one site over the ECM channel (protocol v1). It registers its readiness
 * probe `site:<name>` and its metrics on the given registry when started.
 */
export function createSiteLink(site: SiteConfig, deps: SiteLinkFactoryDeps): ApplianceLink & Component {
  return new SiteLink(site, deps);
}
