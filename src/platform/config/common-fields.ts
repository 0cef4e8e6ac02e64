import { z } from 'zod';

/** Shared field types used by several config sections. */
export const durationMs = (def: number) => z.number().int().positive().max(3_600_000).default(def);

/**
 * Every remote the bridge talks to receives a secret (OAuth client secret, PS-Auth key, bearer
 * token), so only `https:` is accepted. Userinfo (`https://user:pass@host`) is refused: it would
 * be a secret outside the secret-reference mechanism, printed by `config print` and logged.
 */
export const httpsUrl = z
  .string()
  .max(2048)
  .url('must be an absolute URL')
  .refine((u) => /^https:\/\//i.test(u), 'must be an https: URL (secrets are sent to it; plain http is refused)')
  .refine(
    (u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''),
    "must not contain user:password@ (use the section's secret fields: env: or file: references)",
  );

export const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/, 'must be a hostname, optionally with :port');

export const timeouts = z
  .object({
    connectMs: durationMs(5_000),
    requestMs: durationMs(15_000),
  })
  .strict()
  .default({ connectMs: 5_000, requestMs: 15_000 });

export const retries = z
  .object({
    max: z.number().int().min(0).max(10).default(3),
    baseDelayMs: z.number().int().positive().default(200),
    maxDelayMs: z.number().int().positive().default(5_000),
  })
  .strict()
  .default({ max: 3, baseDelayMs: 200, maxDelayMs: 5_000 });
