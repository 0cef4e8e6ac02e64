import { z } from 'zod';
import { caFilePath, secretRef } from '../platform/config/secret-ref.js';
import { hostname, httpsUrl, timeouts } from '../platform/config/common-fields.js';
import { proxySchema } from '../platform/config/proxy-field.js';
import { atlasSchema } from './topology/atlas-config.js';

const apiAccount = z
  .object({
    clientId: z.string().min(1),
    clientSecret: secretRef,
  })
  .strict();

/** One BeyondTrust PRA or RS site (a failover pair or Atlas cluster counts as one site). */
export const siteSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only'),
    url: httpsUrl,
    // PRA/RS as the products are written, or lower case.
    product: z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['pra', 'rs'])).default('pra'),
    /** Node hostnames of a failover pair / Atlas primary candidates, for health-aware failover. */
    nodes: z.array(hostname).default([]),
    /**
     * The name the appliance's certificate carries, verified (and sent as SNI) on the site URL
     * and every `nodes` entry given by IP or by another name. Default: the site URL's host.
     */
    tlsServerName: z
      .string()
      .max(253)
      .regex(/^(?=.*[A-Za-z])[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, 'must be a DNS name (no port, not an IP address)')
      .optional(),
    /** Atlas traffic nodes, where session recordings live (see atlas-config.ts). */
    atlas: atlasSchema.optional(),
    /** Extra PEM CA bundle trusted for this site (in addition to the system roots). */
    caFile: caFilePath.optional(),
    /** HTTPS proxy (CONNECT) for every connection to this site: channel, OAuth, APIs. */
    proxy: proxySchema.optional(),
    ecm: apiAccount
      .extend({
        enabled: z.boolean().default(true),
        /** Requests run at once per channel; more wait (up to 4x this), beyond that `channel.overloaded`. */
        maxConcurrentRequests: z.number().int().min(1).max(1024).default(64),
      })
      .strict()
      .optional(),
    reporting: apiAccount
      .extend({
        enabled: z.boolean().default(true),
      })
      .strict()
      .optional(),
    timeouts,
  })
  .strict();

export type SiteConfig = z.infer<typeof siteSchema>;

/**
 * What the ECM channel of a site reads: everything but the reporting account (rotating that must
 * not reconnect the channel and lose its seniority in the ECM group) and the Atlas traffic nodes
 * (only recording downloads and `check` use them).
 */
export type SiteLinkSettings = Omit<SiteConfig, 'reporting' | 'atlas'>;
