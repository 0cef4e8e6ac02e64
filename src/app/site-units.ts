import type { Config } from './config-schema.js';
import type { Component } from '../platform/lifecycle.js';
import type { UnitSpec } from '../platform/units.js';
import type { Runtime } from './service-units.js';
import type { RequestHandler } from '../appliance/appliance-link.js';
import { createSiteLink } from './create-site-link.js';
import { relayHandler } from '../appliance/request-relay.js';

/**
 * One `site:<name>` unit per site with an enabled ECM account. Each link forwards requests to the
 * unit running under `handlerKey` (the broker) through a relay rather than a dependency, so a
 * reload restarts only sites whose own settings changed.
 */
export function siteUnits(config: Config, rt: Runtime, handlerKey: string): UnitSpec[] {
  return config.sites
    .filter((site) => site.ecm?.enabled)
    .map((site) => ({
      key: `site:${site.name}`,
      // Everything the channel reads, but not the reporting account: rotating that must not
      // reconnect the channel (and lose its seniority in the ECM group).
      slice: { ...site, reporting: undefined },
      create: (_get, live) =>
        createSiteLink(site, { ...rt, handler: relayHandler(live<Component & RequestHandler>(handlerKey), site.name) }),
    }));
}
