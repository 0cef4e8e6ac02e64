import { z } from 'zod';
import { caFilePath, configPath, secretRef } from '../platform/config/secret-ref.js';

const embedded = z
  .object({
    kind: z.literal('embedded'),
    /** PGlite data directory; `memory://` keeps everything in memory (tests). */
    dataDir: configPath.default('./.data/pglite'),
    /**
     * How long to wait for another process holding the data directory before failing; absent
     * means 10,000 ms (optional rather than defaulted so the section's own default stays as is).
     */
    lockWaitMs: z.number().int().min(0).max(600_000).optional(),
  })
  .strict();

const mssql = z
  .object({
    kind: z.literal('mssql'),
    server: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(1433),
    database: z.string().min(1).default('BGSessions'),
    user: z.string().min(1),
    password: secretRef,
    encrypt: z.boolean().default(true),
    /** Extra PEM CA bundle for the SQL Server certificate. */
    caFile: caFilePath.optional(),
    pool: z
      .object({
        max: z.number().int().min(1).max(200).default(10),
        idleTimeoutMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .default({ max: 10, idleTimeoutMs: 30_000 }),
    requestTimeoutMs: z.number().int().positive().default(30_000),
  })
  .strict();

export const storeSchema = z.discriminatedUnion('kind', [embedded, mssql]);

export type StoreConfig = z.infer<typeof storeSchema>;
