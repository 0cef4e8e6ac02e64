/**
 * Validation of what the appliance sends, per frame part and per operation. Every string is
 * bounded here, before any work is done with it: console users are untrusted, and their names,
 * endpoints and lsids reach the bridge through the appliance. Unknown keys are dropped (the
 * appliance may add fields in later versions); wrong types and oversized values are refused.
 */
import { z } from 'zod';

/** Longer than any directory allows (AD: 256 for a UPN); bounds the work of mapping regexes. */
export const MAX_USERNAME = 512;
/** A DNS name is at most 253 characters; an IP with port and zone fits in 64. */
const MAX_HOST = 255;
const MAX_IP = 64;
/** BGSessions and the audit table store lsids in varchar(64). */
export const MAX_LSID = 64;
const MAX_NAME = 256;
const MAX_TEXT = 1024;
/** Credential ids are signed tokens of a few hundred characters; anything far longer is not ours. */
export const MAX_CREDENTIAL_ID = 4096;

const text = (max: number) => z.string().max(max, `is longer than ${max} characters`);
const id = z.number().int().safe();

export const consoleUserSchema = z.object({
  id: id.optional(),
  username: z
    .string()
    .max(MAX_USERNAME, `is longer than ${MAX_USERNAME} characters`)
    .refine((u) => u.trim() !== '', 'is empty'),
  displayName: text(MAX_NAME).optional(),
  securityProvider: z
    .object({ id: id.optional(), name: text(MAX_NAME).optional(), kind: text(MAX_NAME).optional() })
    .optional(),
  email: text(MAX_NAME).optional(),
});

export const endpointSchema = z.object({
  hostname: text(MAX_HOST).optional(),
  fqdn: text(MAX_HOST).optional(),
  ip: text(MAX_IP).optional(),
  publicIp: text(MAX_IP).optional(),
  os: text(MAX_NAME).optional(),
});

export const jumpItemSchema = z.object({
  id: id.optional(),
  name: text(MAX_NAME).optional(),
  type: text(32).optional(),
  networkId: text(MAX_NAME).optional(),
  jumpGroup: z.object({ id: id.optional(), name: text(MAX_NAME).optional(), type: text(32).optional() }).optional(),
});

/**
 * Appliance session ids are hex tokens; the shape is wider but never spaces, quotes, dots or
 * slashes: the lsid goes into the audit row, the vault's request reason and log lines.
 */
const LSID_SHAPE = /^[A-Za-z0-9_-]*$/;

export const sessionSchema = z.object({
  lsid: text(MAX_LSID).regex(LSID_SHAPE, 'must contain only letters, digits, _ and -').optional(),
  externalKey: text(MAX_TEXT).optional(),
});

export const requestContextSchema = z.object({
  user: consoleUserSchema,
  endpoint: endpointSchema.optional(),
  jumpItem: jumpItemSchema.optional(),
  session: sessionSchema.optional(),
});

const credentialId = z.string().min(1, 'is empty').max(MAX_CREDENTIAL_ID, 'is too long');

export const listParamsSchema = z.object({ purpose: z.enum(['login', 'run-as']).default('login') });
export const getParamsSchema = z.object({ credentialId });
export const releaseParamsSchema = z
  .object({ leaseId: text(MAX_NAME).min(1).optional(), credentialId: credentialId.optional() })
  .refine((p) => p.leaseId !== undefined || p.credentialId !== undefined, 'needs "leaseId" or "credentialId"');
export const searchParamsSchema = z.object({
  query: text(MAX_TEXT),
  limit: z.number().int().min(1).max(1000).optional(),
});

export type ValidContext = z.output<typeof requestContextSchema>;
export interface ValidParams {
  'credentials.list': z.output<typeof listParamsSchema>;
  'credentials.get': z.output<typeof getParamsSchema>;
  'credentials.release': z.output<typeof releaseParamsSchema>;
  'jump.search': z.output<typeof searchParamsSchema>;
}

/** The params of each operation (keyed like OPS in ecm-protocol.ts); absent params are validated as `{}`. */
export const OP_PARAMS: { [O in keyof ValidParams]: z.ZodType<ValidParams[O], unknown> } = {
  'credentials.list': listParamsSchema,
  'credentials.get': getParamsSchema,
  'credentials.release': releaseParamsSchema,
  'jump.search': searchParamsSchema,
};

/**
 * The welcome's descriptive strings reach the log, /readyz and the status page: bounded like any
 * other input (a 600 KB group name once made 600 KB log lines). Numbers are checked where used.
 */
export const welcomeSchema = z.object({
  group: text(MAX_NAME),
  site: z
    .object({
      hostname: text(MAX_HOST).optional(),
      applianceId: text(MAX_NAME).optional(),
      version: text(64).optional(),
    })
    .optional(),
});

/** A safe sentence naming the first problem: `request.context.user.username is empty`. */
export function describeProblem(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${where} is invalid`;
  const path = [where, ...issue.path.map(String)].join('.');
  const message =
    issue.code === 'invalid_type'
      ? /received undefined/.test(issue.message)
        ? 'is missing'
        : `must be ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`
      : issue.message;
  return `${path} ${message}`;
}
