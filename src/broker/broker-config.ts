import { z } from 'zod';
import { regexProblem } from '../platform/linear-regex.js';
import { secretRef } from '../platform/config/secret-ref.js';

/** `broker.search.externalJumpoint` for "Automatically Selected by External Jump Item Network ID". */
export const EXTERNAL_JUMPOINT_AUTO = 'auto';

/**
 * Config of the credential broker: user mapping, endpoint matching, release policies, credential
 * ids, leases and jump search (docs/broker.md is the reference with worked examples).
 */

const REGEX_PREFIX = 'regex:';
const TEMPLATE_FIELDS = ['user', 'username', 'domain', 'netbios', 'dnsDomain', 'upn', 'email'];

/** A match value: exact (case-insensitive) or `regex:...` (case-insensitive, named groups allowed). */
const matchValue = z.string().superRefine((v, ctx) => {
  if (!v.startsWith(REGEX_PREFIX)) return;
  const problem = regexProblem(v.slice(REGEX_PREFIX.length));
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const matchSchema = z
  .object({
    /** The console username as the appliance sends it (`CORP\jdoe`, `jdoe@corp.example.com`, `jdoe`). */
    username: matchValue.optional(),
    securityProvider: matchValue.optional(),
    securityProviderKind: matchValue.optional(),
    /** Domain part of the username (NetBIOS or DNS form, equivalent through `userMapping.domains`); "" = no domain. */
    domain: matchValue.optional(),
    jumpGroup: matchValue.optional(),
    email: matchValue.optional(),
  })
  .strict();

const ruleSchema = z
  .object({
    name: z.string().min(1),
    match: matchSchema.default({}),
    /** When set, the rule refuses with this reason (shown to the console user). */
    deny: z.string().min(1).optional(),
    /** Template for the vault user: {user} {username} {domain} {netbios} {dnsDomain} {upn} {email}, named regex groups. */
    vaultUser: z.string().min(1).optional(),
    transform: z
      .object({
        case: z.enum(['preserve', 'lower', 'upper']).default('preserve'),
        domain: z.enum(['keep', 'strip', 'to-upn', 'to-netbios']).default('keep'),
        /** to-upn: this suffix, whatever the console sent (otherwise the UPN suffix or `domains[NETBIOS]`). */
        upnSuffix: z.string().min(1).optional(),
        /** to-netbios: this domain, whatever the console sent (otherwise NETBIOS or the reverse of `domains`). */
        netbiosDomain: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.deny !== undefined && (rule.vaultUser !== undefined || rule.transform !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['deny'],
        message: 'a deny rule cannot also map (remove vaultUser/transform)',
      });
    }
    if (rule.vaultUser !== undefined && rule.transform?.domain !== undefined && rule.transform.domain !== 'keep') {
      ctx.addIssue({
        code: 'custom',
        path: ['transform', 'domain'],
        message: 'use either vaultUser (a template) or transform.domain, not both',
      });
    }
    if (rule.vaultUser === undefined) return;
    const groups = Object.values(rule.match).flatMap((v) =>
      typeof v === 'string' && v.startsWith(REGEX_PREFIX)
        ? [...v.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] ?? '')
        : [],
    );
    for (const [, name] of rule.vaultUser.matchAll(/\{([^{}]*)\}/g)) {
      if (name !== undefined && !TEMPLATE_FIELDS.includes(name) && !groups.includes(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['vaultUser'],
          message: `unknown placeholder {${name}} (expected one of ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')} or a named group of this rule's regexes)`,
        });
      }
    }
  });

export const userMappingSchema = z
  .object({
    /** What happens when no rule matches: deny (`unmapped_user`) or use the console username unchanged. */
    default: z.enum(['deny', 'passthrough']).default('deny'),
    /** NetBIOS domain -> DNS domain (`CORP: corp.example.com`), so either form matches and converts. */
    domains: z.record(z.string().min(1), z.string().min(1)).default({}),
    rules: z.array(ruleSchema).default([]),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.rules.forEach((r, i) => {
      if (seen.has(r.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `duplicate rule name "${r.name}"` });
      seen.add(r.name);
    });
  });

const source = z.enum(['local', 'domain-linked']);

const jumpGroupRestriction = z
  .object({
    jumpGroup: z.string().min(1),
    /** Only accounts on systems of these vault workgroups. */
    workgroups: z.array(z.string().min(1)).optional(),
    /** Only accounts of these sources. */
    sources: z.array(source).optional(),
    /** Offer order for this group (overrides `preferSources`). */
    preferSources: z.array(source).optional(),
  })
  .strict();

export const endpointMatchingSchema = z
  .object({
    /** Extra names for endpoints: key = a name the console reports, value = vault system names. */
    aliases: z.record(z.string(), z.array(z.string().min(1))).default({}),
    preferSources: z.array(source).default(['local', 'domain-linked']),
    jumpGroups: z.array(jumpGroupRestriction).default([]),
  })
  .strict();

const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (00:00 to 24:00)');

const timeWindow = z
  .object({
    days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
    from: hhmm,
    to: hhmm,
    /** IANA time zone, e.g. Europe/Berlin. */
    timezone: z.string().default('UTC'),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.from >= w.to)
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: '`to` must be after `from` (split a window that crosses midnight in two)',
      });
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: w.timezone });
    } catch {
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: `unknown time zone "${w.timezone}"` });
    }
  });

const policySchema = z
  .object({
    name: z.string().min(1),
    /** Jump Group names the policy applies to; empty = every group (and requests without one). */
    jumpGroups: z.array(z.string().min(1)).default([]),
    /** Regular expression `session.externalKey` must match (e.g. a change ticket). */
    requireExternalKey: z
      .string()
      .min(1)
      .superRefine((v, ctx) => {
        const problem = regexProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    /** Release only inside one of these windows. */
    timeWindows: z.array(timeWindow).min(1).optional(),
    /** Security provider names (user groups) whose users may receive credentials. */
    allowedUserGroups: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

export const brokerSchema = z
  .object({
    /** HMAC-SHA256 key for credential ids (at least 32 bytes). */
    credentialIdKey: secretRef.refine((s) => s.length >= 32, 'the credential id key must be at least 32 bytes'),
    credentialIdTtlSeconds: z.number().int().min(10).max(86_400).default(300),
    checkinOnShutdown: z.boolean().default(true),
    leases: z
      .object({
        /** How often expired leases are checked in. */
        sweepIntervalSeconds: z.number().int().min(1).max(3600).default(30),
        /** How often this instance records that it is alive. */
        heartbeatSeconds: z.number().int().min(1).max(3600).default(15),
        /** An instance silent this long is presumed crashed; its leases are checked in by the next start. */
        staleAfterSeconds: z.number().int().min(5).max(86_400).default(90),
      })
      .strict()
      .default({ sweepIntervalSeconds: 30, heartbeatSeconds: 15, staleAfterSeconds: 90 })
      .refine((l) => l.staleAfterSeconds > 2 * l.heartbeatSeconds, {
        message: 'staleAfterSeconds must exceed twice heartbeatSeconds',
        path: ['staleAfterSeconds'],
      }),
    policies: z.array(policySchema).default([]),
    search: z
      .object({
        maxQueryLength: z.number().int().min(1).max(1024).default(128),
        maxLimit: z.number().int().min(1).max(1000).default(100),
        /**
         * What /login > Management > Security > Access Console > "Jumpoint for External Jump Item
         * Sessions" is set to: `auto` ("Automatically Selected by External Jump Item Network ID",
         * the appliance's default) or the name of the one Jumpoint chosen there.
         */
        externalJumpoint: z.string().trim().min(1).max(256).default(EXTERNAL_JUMPOINT_AUTO),
        /** Optional refinement of `auto`: the Network IDs (vault workgroups) some Jumpoint serves. */
        jumpoints: z.record(z.string(), z.string()).default({}),
      })
      .strict()
      .default({ maxQueryLength: 128, maxLimit: 100, externalJumpoint: EXTERNAL_JUMPOINT_AUTO, jumpoints: {} }),
  })
  .strict();

export type UserMappingConfig = z.infer<typeof userMappingSchema>;
export type MappingRule = UserMappingConfig['rules'][number];
export type EndpointMatchingConfig = z.infer<typeof endpointMatchingSchema>;
export type BrokerConfig = z.infer<typeof brokerSchema>;
export type PolicyConfig = BrokerConfig['policies'][number];
export { REGEX_PREFIX };

/** What a checkout asks the vault for, and how check-ins are labelled (from the `vault` section). */
export interface ReleaseSettings {
  durationMinutes: number;
  reasonTemplate: string;
  checkinReason: string;
}

/**
 * Everything the broker reads, and nothing else: the broker is built from this slice and
 * replaced on reload exactly when it changes.
 */
export interface BrokerSettings {
  broker: BrokerConfig;
  userMapping: UserMappingConfig;
  endpointMatching: EndpointMatchingConfig;
  release: ReleaseSettings;
  /** Site recorded on leases and audit rows when a request names none (test-settings). */
  defaultSite: string;
}
