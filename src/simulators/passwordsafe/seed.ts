import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ServiceError } from '../../platform/errors.js';

/**
 * The fixture a Password Safe simulator starts from (YAML or JSON). Names tie the parts together
 * (a user lists group names, an account names its system), so fixtures stay readable; numeric ids
 * are optional and assigned in file order when absent.
 */
const platform = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    shortName: z.string().min(1),
    defaultPort: z.number().int().min(0).max(65_535).nullable().default(null),
    /** "RDP" | "SSH" | null: how the bridge tells RDP targets from shell targets. */
    sessionType: z.enum(['RDP', 'SSH']).nullable().default(null),
  })
  .strict();

const workgroup = z.object({ id: z.number().int().positive(), name: z.string().min(1) }).strict();

const user = z
  .object({
    id: z.number().int().positive().optional(),
    name: z.string().min(1),
    email: z.string().optional(),
    displayName: z.string().optional(),
    groups: z.array(z.string()).default([]),
    /** The user's own password, for registrations that require `pwd=[...]`. */
    password: z.string().optional(),
  })
  .strict();

const grant = z
  .object({
    /** System name; alone it grants every account of the system. */
    system: z.string().min(1).optional(),
    account: z.string().min(1).optional(),
    /** Grants every account on systems of this workgroup. */
    workgroup: z.string().min(1).optional(),
  })
  .strict()
  .refine((g) => g.system !== undefined || g.workgroup !== undefined, 'a grant needs `system` or `workgroup`');

const group = z
  .object({
    name: z.string().min(1),
    /** "System Management: read": may list ManagedSystems. */
    systemsRead: z.boolean().default(true),
    /** "Asset Management: read": may search Assets. Unset: as `systemsRead` (both are usually granted together). */
    assetsRead: z.boolean().optional(),
    grants: z.array(grant).default([]),
  })
  .strict();

const registration = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('apikey'),
      name: z.string().min(1),
      key: z.string().min(8),
      /** Only members of these groups may be `runas` users. */
      groups: z.array(z.string()).min(1),
      requirePassword: z.boolean().default(false),
      /** Source addresses allowed to sign in; empty = any. */
      allowedAddresses: z.array(z.string()).default([]),
    })
    .strict(),
  z
    .object({
      kind: z.literal('oauth'),
      name: z.string().min(1),
      clientId: z.string().min(1),
      clientSecret: z.string().min(8),
      /** The application user a Bearer session acts as. */
      user: z.string().min(1),
      tokenLifetimeSeconds: z.number().int().positive().default(3600),
    })
    .strict(),
]);

const system = z
  .object({
    id: z.number().int().positive().optional(),
    name: z.string().min(1),
    dnsName: z.string().optional(),
    hostName: z.string().optional(),
    ip: z.string().optional(),
    platform: z.string().min(1),
    workgroup: z.string().min(1),
    port: z.number().int().min(1).max(65_535).optional(),
    description: z.string().optional(),
    releaseDuration: z.number().int().min(1).default(120),
    maxReleaseDuration: z.number().int().min(1).default(525_600),
  })
  .strict();

const account = z
  .object({
    id: z.number().int().positive().optional(),
    system: z.string().min(1),
    name: z.string().min(1),
    domain: z.string().optional(),
    upn: z.string().optional(),
    description: z.string().optional(),
    password: z.string().min(1),
    privateKey: z.string().optional(),
    passphrase: z.string().optional(),
    apiEnabled: z.boolean().default(true),
    defaultReleaseMinutes: z.number().int().min(1).default(120),
    maxReleaseMinutes: z.number().int().min(1).max(525_600).default(525_600),
    /** An approval policy: new requests stay pending until an approver (a test) approves. */
    requiresApproval: z.boolean().default(false),
    rotateOnCheckin: z.boolean().default(false),
    /** Target systems (by name) this directory account is linked to. */
    linkedTo: z.array(z.string()).default([]),
  })
  .strict();

export const seedSchema = z
  .object({
    platforms: z.array(platform).default([]),
    workgroups: z.array(workgroup).default([]),
    users: z.array(user).default([]),
    groups: z.array(group).default([]),
    registrations: z.array(registration).default([]),
    systems: z.array(system).default([]),
    accounts: z.array(account).default([]),
    /** Idle timeout of a signed-in session (Password Safe: about 20 minutes). */
    sessionIdleSeconds: z.number().int().positive().default(1200),
  })
  .strict();

export type Seed = z.infer<typeof seedSchema>;
export type SeedInput = z.input<typeof seedSchema>;
export type SeedAccount = Seed['accounts'][number];
export type SeedSystem = Seed['systems'][number];

/** Validates a seed object; every problem is reported with its path. */
export function parseSeed(raw: unknown, source = 'seed'): Seed {
  const r = seedSchema.safeParse(raw);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServiceError('config.invalid', `${source}: invalid Password Safe seed:\n  ${problems.join('\n  ')}`, {
      op: 'sim.seed',
    });
  }
  return r.data;
}

/** Reads a YAML or JSON seed file. */
export function loadSeedFile(path: string): Seed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ServiceError(
      'config.unreadable',
      `cannot read seed file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { op: 'sim.seed', cause: e },
    );
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new ServiceError(
      'config.unreadable',
      `seed file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`,
      { op: 'sim.seed', cause: e },
    );
  }
  return parseSeed(raw, path);
}
