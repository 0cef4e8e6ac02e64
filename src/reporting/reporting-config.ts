import cron from 'node-cron';
import { z } from 'zod';
import { configPath } from '../platform/config/secret-ref.js';
import { retries } from '../platform/config/common-fields.js';

export const cronExpression = z
  .string()
  .refine((v) => cron.validate(v), { message: 'is not a valid cron expression (5 or 6 fields)' });

export const reportingSchema = z
  .object({
    enabled: z.boolean().default(true),
    schedule: cronExpression.default('*/5 * * * *'),
    /** First run with no cursor starts this far back. */
    initialLookbackHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 3650)
      .default(24),
    /** Re-read this much before the cursor so late-closing sessions are never missed. */
    overlapMinutes: z.number().int().min(0).max(1440).default(15),
    /**
     * A pull window is walked in slices of this length (one listing per slice): the listing held
     * in memory is bounded by a slice, whatever the window, and the cursor advances per slice.
     */
    sliceMinutes: z.number().int().min(1).max(1440).default(60),
    /**
     * When a failover site's primary changes, re-read once from the new primary's last successful
     * data sync, at most this far back; a re-read still waiting for a sync this long after the
     * change is given up (0 turns the re-read off). See docs/reporting.md, "Failover and failback".
     */
    failbackRereadMaxHours: z.number().int().min(0).max(720).default(24),
    batchSize: z.number().int().min(1).max(1000).default(100),
    /**
     * The reporting leadership's lease: renewed every third of it and by every commit, so a
     * leader that stops (hung, paused, cut off) loses it this long after its last renewal, and
     * its next commit is refused. See docs/reporting.md, "Replicas".
     */
    leaderLeaseSeconds: z.number().int().min(3).max(600).default(30),
    includeInProgress: z.boolean().default(true),
    /** Retries of one Reporting API call on transport errors, 5xx and 429. */
    retries,
    recordings: z
      .object({
        enabled: z.boolean().default(false),
        directory: configPath.default('./.data/recordings'),
        /** A file larger than this is abandoned (counted as failed; the session is still stored). */
        maxMegabytes: z.number().int().min(1).max(1_048_576).default(4096),
        /**
         * One file's whole download, first byte to last, must end within this: a node that
         * trickles bytes under the per-chunk timeout cannot hold the pull.
         */
        timeoutSeconds: z.number().int().min(1).max(86_400).default(1800),
        /**
         * A file that could not be fetched is owed (the missing-recordings list) and retried with
         * backoff at the pulls, until fetched or this long after its first failure.
         */
        retryForHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 90)
          .default(72),
      })
      .strict()
      .default({
        enabled: false,
        directory: './.data/recordings',
        maxMegabytes: 4096,
        timeoutSeconds: 1800,
        retryForHours: 72,
      }),
  })
  .strict();

export type ReportingConfig = z.infer<typeof reportingSchema>;
