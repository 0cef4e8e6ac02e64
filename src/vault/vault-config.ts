import { z } from 'zod';
import { caFilePath, secretRef } from '../platform/config/secret-ref.js';
import { httpsUrl, retries, timeouts } from '../platform/config/common-fields.js';
import { proxySchema } from '../platform/config/proxy-field.js';

const apiKeyAuth = z
  .object({
    method: z.literal('apikey'),
    apiKey: secretRef,
    /** `pwd=[...]` of PS-Auth, only when the API registration requires the user's password. */
    runasPassword: secretRef.optional(),
  })
  .strict();

const oauthAuth = z
  .object({
    method: z.literal('oauth'),
    clientId: z.string().min(1),
    clientSecret: secretRef,
  })
  .strict();

export const vaultSchema = z
  .object({
    kind: z.literal('passwordsafe'),
    /** Base URL of the v3 API, e.g. https://vault.example.com/BeyondTrust/api/public/v3 */
    url: httpsUrl,
    caFile: caFilePath.optional(),
    /** HTTPS proxy (CONNECT) for the connections to Password Safe. */
    proxy: proxySchema.optional(),
    auth: z.discriminatedUnion('method', [apiKeyAuth, oauthAuth]),
    /**
     * Password Safe user the health check (`ecm-bridge check`, readiness) signs in as with an
     * API-key registration; it needs no grants. Not used with OAuth.
     */
    probeUser: z.string().min(1).max(256).optional(),
    releaseDurationMinutes: z.number().int().min(1).max(525_600).default(30),
    reasonTemplate: z.string().max(1000).default('ecm-bridge: {user} session {lsid} ticket {ticket}'),
    accessType: z.enum(['View', 'RDP', 'SSH', 'App']).default('View'),
    conflictOption: z.enum(['reuse', 'renew', 'none']).default('reuse'),
    checkinReason: z.string().max(1000).default('ecm-bridge: released by {user} session {lsid}'),
    timeouts,
    retries,
    /**
     * Keep-alive HTTPS connections to the vault's origin (per origin: the undici pool's size),
     * one request on each at a time. At least the sites' `ecm.maxConcurrentRequests` (64), so
     * concurrent checkouts do not queue for a connection inside the bridge.
     */
    connections: z.number().int().min(1).max(1024).default(64),
    cache: z
      .object({
        discoveryTtlSeconds: z.number().int().min(0).max(3600).default(30),
        /** How long past the TTL a Jump search may be answered from the old list while one refresh runs. */
        maxStaleSeconds: z.number().int().min(0).max(86_400).default(300),
        /** Background refreshes running at once (all users together). */
        refreshConcurrency: z.number().int().min(1).max(64).default(2),
        /** Cached lists per kind (account lists, users' systems), least recently used out. */
        maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .default({ discoveryTtlSeconds: 30, maxStaleSeconds: 300, refreshConcurrency: 2, maxEntries: 10_000 }),
    discovery: z
      .object({
        /** Discovery pages in flight at once for the whole vault; the connection pool (`connections`) keeps the rest for credential calls. */
        pageConcurrency: z.number().int().min(1).max(64).default(8),
      })
      .strict()
      .default({ pageConcurrency: 8 }),
    sessionPool: z
      .object({
        maxSessions: z.number().int().min(1).max(10_000).default(200),
        idleSeconds: z.number().int().min(10).max(3600).default(900),
      })
      .strict()
      .default({ maxSessions: 200, idleSeconds: 900 }),
  })
  .strict();

export type VaultConfig = z.infer<typeof vaultSchema>;
