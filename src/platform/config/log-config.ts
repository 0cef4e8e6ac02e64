import { z } from 'zod';

/** The `log` section: the level, changeable by reload. */
export const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();
