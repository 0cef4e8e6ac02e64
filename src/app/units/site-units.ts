import { brokerHandler } from '../../appliance/broker-mapper.js';
import type { SiteConfig, SiteLinkSettings } from '../../appliance/site-config.js';
import { SiteLink } from '../../appliance/channel/site-link.js';
import type { Component } from '../../platform/lifecycle.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import type { Runtime } from '../runtime.js';
import { BROKER_UNIT } from './broker-unit.js';
import { STORE_UNIT } from './store-unit.js';

export const siteUnitKey = (name: string) => unitKey<SiteLink & Component>(`site:${name}`);

/**
 * One `site:<name>` unit per site with an enabled ECM account. Each link reaches the broker
 * through `brokerHandler`, which finds the broker running at request time rather than depending
 * on it, so a reload restarts only sites whose own settings changed.
 */
export function siteUnits(sites: readonly SiteConfig[], rt: Runtime): UnitSpec[] {
  return sites
    .filter((site) => site.ecm?.enabled)
    .map(({ reporting: _reporting, atlas: _atlas, ...settings }) =>
      unit({
        key: siteUnitKey(settings.name),
        slice: settings satisfies SiteLinkSettings,
        // No channel joins the ECM group before the store and the broker are up (a second `serve`
        // on a locked data directory fails before it opens one); order only, so replacing the
        // broker on reload keeps the channels and their seniority.
        after: [STORE_UNIT, BROKER_UNIT],
        create: (slice, units) =>
          new SiteLink(slice, { ...rt, handler: brokerHandler(units.live(BROKER_UNIT), slice.name) }),
      }),
    );
}
