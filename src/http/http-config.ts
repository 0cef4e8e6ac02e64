import { z } from 'zod';
import { secretRef } from '../platform/config/secret-ref.js';

const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/, 'must be a DNS name');

export const httpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(9410),
    /**
     * DNS names clients use to reach the ops port (a load balancer's or the VM's name). Requests
     * whose Host is none of these, `host`, a loopback name or an IP address are refused (DNS rebinding).
     */
    publicNames: z.array(hostName).max(32).optional(),
    auth: z
      .object({
        /** Monitoring scope: bearer token for /readyz, /metrics (every route but /healthz and the status page). */
        token: secretRef,
        /** Status scope: bearer token for the status page's data and Test Settings; must differ from `token`. */
        statusToken: secretRef.optional(),
      })
      .strict()
      .superRefine((a, ctx) => {
        if (a.statusToken && a.statusToken.equals(a.token))
          ctx.addIssue({
            code: 'custom',
            path: ['statusToken'],
            message: 'must differ from http.auth.token: a monitoring system must not be able to run Test Settings',
          });
      })
      .optional(),
    statusPage: z
      .object({
        /**
         * Serve the status page's data without a token. Honoured only when `host` is a loopback
         * address (and every request's Host is still checked); the page is off otherwise.
         */
        openOnLoopback: z.boolean().default(false),
      })
      .strict()
      .optional(),
  })
  .strict();

export type HttpConfig = z.infer<typeof httpSchema>;
