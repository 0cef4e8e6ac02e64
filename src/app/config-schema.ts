import { z } from 'zod';
import { loadYamlConfig, parseYamlConfig, type LoadOptions } from '../platform/config/loader.js';
import { siteSchema } from '../appliance/site-config.js';
import { vaultSchema } from '../vault/vault-config.js';
import { brokerSchema, endpointMatchingSchema, userMappingSchema } from '../broker/broker-config.js';
import { storeSchema } from '../store/store-config.js';
import { reportingSchema } from '../reporting/reporting-config.js';
import { httpSchema } from '../http/http-config.js';
import { logSchema } from '../platform/config/log-config.js';

/**
 * The one description of the YAML file. Each section lives in sections/ next to its siblings;
 * every object is strict, so a misspelt key is an error (with a "did you mean" hint) rather than
 * a silently ignored setting.
 */
export const configSchema = z
  .object({
    /** Demo only: accept literal secrets in the YAML. */
    allowLiteralSecrets: z.boolean().default(false),
    sites: z.array(siteSchema).default([]),
    vault: vaultSchema.optional(),
    userMapping: userMappingSchema.default({ default: 'deny', domains: {}, rules: [] }),
    endpointMatching: endpointMatchingSchema.default({
      aliases: {},
      preferSources: ['local', 'domain-linked'],
      jumpGroups: [],
    }),
    broker: brokerSchema.optional(),
    store: storeSchema.default({ kind: 'embedded', dataDir: './.data/pglite' }),
    reporting: reportingSchema.default(reportingSchema.parse({})),
    http: httpSchema.default({ host: '127.0.0.1', port: 9410 }),
    log: logSchema.default({ level: 'info' }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.sites.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'name'], message: `duplicate site name "${s.name}"` });
      seen.add(s.name);
    });
    if (cfg.sites.some((s) => s.ecm?.enabled) && !cfg.vault) {
      ctx.addIssue({
        code: 'custom',
        path: ['vault'],
        message: 'a site has an `ecm` account but no `vault` is configured',
      });
    }
    if (cfg.sites.some((s) => s.ecm?.enabled) && !cfg.broker) {
      ctx.addIssue({
        code: 'custom',
        path: ['broker'],
        message: 'a site has an `ecm` account but no `broker` section (credentialIdKey) is configured',
      });
    }
  });

/** The effective configuration every component receives slices of (secrets resolved). */
export type Config = z.infer<typeof configSchema>;

/** Reads, validates and resolves the bridge's YAML file; throws ConfigError listing every problem. */
export function loadConfigFile(file: string, options: LoadOptions = {}): Config {
  return loadYamlConfig(configSchema, file, options);
}

/** As loadConfigFile, from text already read (tests, `config validate` on stdin). */
export function parseConfigText(text: string, file: string, options: LoadOptions = {}): Config {
  return parseYamlConfig(configSchema, text, file, options);
}
