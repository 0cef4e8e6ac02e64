import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseYamlConfig } from '../../platform/config/loader.js';
import { ServiceError } from '../../platform/errors.js';
import { packagePath } from '../../platform/package-path.js';

const accountSchema = z
  .object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** Shown in logs and get_api_info; defaults to the client id. */
    name: z.string().optional(),
    permissions: z
      .object({
        ecm: z.boolean().default(false),
        reporting: z.boolean().default(false),
        command: z.enum(['full', 'read_only', 'deny']).default('deny'),
      })
      .strict()
      .default({ ecm: false, reporting: false, command: 'deny' }),
    /** The account's ECM Group; requests of a group go to its longest-connected ECM. */
    ecmGroup: z.string().min(1).default('Default'),
  })
  .strict();

const fileSchema = z.object({ accounts: z.array(accountSchema).min(1) }).strict();

export type SimAccount = z.infer<typeof accountSchema>;
export type SimAccountInput = z.input<typeof accountSchema>;

/** Validates account definitions (from code or a file); duplicate client ids are an error. */
export function parseAccounts(input: unknown, source = 'accounts'): SimAccount[] {
  const parsed = fileSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ServiceError('config.invalid', `${source}: ${problems.join('; ')}`, { op: 'sim.accounts' });
  }
  const seen = new Set<string>();
  for (const a of parsed.data.accounts) {
    if (seen.has(a.clientId))
      throw new ServiceError('config.invalid', `${source}: duplicate clientId "${a.clientId}"`, { op: 'sim.accounts' });
    seen.add(a.clientId);
  }
  return parsed.data.accounts;
}

/**
 * Reads an accounts file (YAML, or JSON since JSON is YAML):
 * `accounts: [{clientId, clientSecret, permissions: {ecm, reporting, command}, ecmGroup}]`.
 */
/** The demo's API accounts, shipped in the package (the default of `sim appliance`). */
export const demoAccountsPath = packagePath('config/demo/appliance-accounts.yaml');

export function loadAccountsFile(file: string): SimAccount[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ServiceError(
      'config.unreadable',
      `cannot read accounts file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { op: 'sim.accounts' },
    );
  }
  // The configuration loader's reading: every problem with its line, column and plain wording.
  return parseAccounts(parseYamlConfig(fileSchema, text, file), file);
}
