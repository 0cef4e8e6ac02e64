import { z } from 'zod';
import { secretRef } from '../platform/config/secret-ref.js';

export const httpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9410),
    auth: z
      .object({
        /** Bearer token required on every route but /healthz. */
        token: secretRef,
      })
      .strict()
      .optional(),
  })
  .strict();

export type HttpConfig = z.infer<typeof httpSchema>;
