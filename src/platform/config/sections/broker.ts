import { z } from 'zod';
import { secretRef } from '../secret-ref.js';

/** Match criteria of a user-mapping rule; a string starting with `regex:` is a regular expression. */
const matchSchema = z
  .object({
    username: z.string().min(1).optional(),
    securityProvider: z.string().min(1).optional(),
    securityProviderKind: z.string().min(1).optional(),
    domain: z.string().optional(),
    jumpGroup: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    name: z.string().min(1),
    match: matchSchema.default({}),
    /** When set, the rule refuses with this reason (shown to the console user). */
    deny: z.string().min(1).optional(),
    /** Template for the vault user: {user}, {domain}, {upn}, {email}, named regex groups. */
    vaultUser: z.string().min(1).optional(),
    transform: z
      .object({
        case: z.enum(['preserve', 'lower', 'upper']).default('preserve'),
        domain: z.enum(['keep', 'strip', 'to-upn', 'to-netbios']).default('keep'),
        upnSuffix: z.string().optional(),
        netbiosDomain: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const userMappingSchema = z
  .object({
    default: z.enum(['deny', 'passthrough']).default('deny'),
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

const jumpGroupRestriction = z
  .object({
    jumpGroup: z.string().min(1),
    workgroups: z.array(z.string().min(1)).optional(),
    sources: z.array(z.enum(['local', 'domain-linked'])).optional(),
  })
  .strict();

export const endpointMatchingSchema = z
  .object({
    /** Extra names for endpoints: key = name the console reports, value = vault system names. */
    aliases: z.record(z.string(), z.array(z.string().min(1))).default({}),
    preferSources: z.array(z.enum(['local', 'domain-linked'])).default(['local', 'domain-linked']),
    jumpGroups: z.array(jumpGroupRestriction).default([]),
  })
  .strict();

const policySchema = z
  .object({
    name: z.string().min(1),
    jumpGroups: z.array(z.string().min(1)).default([]),
    requireExternalKey: z.string().min(1).optional(),
    timeWindows: z
      .array(
        z
          .object({
            days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
            from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM'),
            to: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM'),
            timezone: z.string().default('UTC'),
          })
          .strict(),
      )
      .optional(),
    allowedUserGroups: z.array(z.string().min(1)).optional(),
  })
  .strict();

export const brokerSchema = z
  .object({
    /** HMAC key for credential ids (at least 32 bytes of entropy). */
    credentialIdKey: secretRef,
    credentialIdTtlSeconds: z.number().int().min(10).max(86_400).default(300),
    checkinOnShutdown: z.boolean().default(true),
    policies: z.array(policySchema).default([]),
    search: z
      .object({
        maxQueryLength: z.number().int().min(1).max(1024).default(128),
        maxLimit: z.number().int().min(1).max(1000).default(100),
        jumpoints: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({ maxQueryLength: 128, maxLimit: 100, jumpoints: {} }),
  })
  .strict();

export type UserMappingConfig = z.infer<typeof userMappingSchema>;
export type EndpointMatchingConfig = z.infer<typeof endpointMatchingSchema>;
export type BrokerConfig = z.infer<typeof brokerSchema>;
