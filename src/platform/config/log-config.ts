import { z } from 'zod';

/**
 * The `log` section: the level (changeable by reload) and the format (read at start): `json`, or
 * `pretty` for people; unset, pretty when the output is a terminal and JSON otherwise.
 */
export const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    format: z.enum(['json', 'pretty']).optional(),
  })
  .strict();
