import type { Config } from '../platform/config/schema.js';
import type { Component } from '../platform/lifecycle.js';
import type { UnitSpec } from '../platform/units.js';
import type { Runtime } from '../wiring.js';
import type { RequestHandler } from './appliance-link.js';
import { createSiteLink } from './create-site-link.js';

/**
 * One `site:<name>` unit per site with an enabled ECM account, to append to `serviceUnits`
 * after the unit `handlerKey`, whose component must implement RequestHandler (the broker).
 * A unit's slice is its site plus the handler key, so a reload restarts only changed sites.
 */
export function siteUnits(config: Config, rt: Runtime, handlerKey: string): UnitSpec[] {
  return config.sites
    .filter((site) => site.ecm?.enabled)
    .map((site) => ({
      key: `site:${site.name}`,
      slice: { site, handlerKey },
      create: (get) => createSiteLink(site, { ...rt, handler: get<Component & RequestHandler>(handlerKey) }),
    }));
}
