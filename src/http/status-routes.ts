import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { Logger } from 'pino';
import { toServiceError } from '../platform/errors.js';
import { packagePath } from '../platform/package-path.js';
import type { StatusSource } from './status-view.js';

/**
 * The page's files sit in assets/status-page/ (shipped in the package as they are, no build step)
 * and are served from there by both the TypeScript sources and the installed release.
 */
const PAGE_DIR = packagePath('assets/status-page/');

/** The page shell: HTML, script and style without any data, so a browser can load it before it has the token. */
const SHELL: Record<string, { file: string; type: string }> = {
  '/status': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status/status.js': { file: 'status.js', type: 'text/javascript; charset=utf-8' },
  '/status/status.css': { file: 'status.css', type: 'text/css; charset=utf-8' },
};

/** True for the shell's paths, which the bearer check lets through (every data route needs the token). */
export function isStatusShell(url: string): boolean {
  return Object.hasOwn(SHELL, url.split('?')[0] ?? '');
}

// No inline script or style, no third party, no framing, no form posts: the page only talks to its own origin.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const bounded = (max: number) => z.string().trim().min(1).max(max);
export const DRAFT_YAML_MAX = 32 * 1024;

const testSettingsBody = z
  .object({
    user: bounded(256),
    provider: bounded(128).optional(),
    endpoint: bounded(256),
    jumpGroup: bounded(128).optional(),
    draftYaml: z.string().max(DRAFT_YAML_MAX).optional(),
  })
  .strict();

const secure = (reply: FastifyReply) =>
  reply
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');

/**
 * GET /status (the page), GET /status/api/overview, POST /status/api/test-settings. The data
 * routes are behind the ops server's bearer check; Test Settings runs one explanation at a time
 * (each signs in to the vault), with a deadline.
 */
export function statusRoutes(source: StatusSource, log: Logger, testTimeoutMs = 20_000) {
  const files = Object.fromEntries(
    Object.entries(SHELL).map(([path, f]) => [path, { ...f, body: readFileSync(join(PAGE_DIR, f.file)) }]),
  );
  return (app: FastifyInstance): void => {
    for (const [path, f] of Object.entries(files))
      app.get(path, async (_req, reply) => secure(reply).type(f.type).send(f.body));

    app.get('/status/api/overview', async (_req, reply) => {
      return secure(reply).send(await source.overview());
    });

    let busy = false;
    app.post('/status/api/test-settings', { bodyLimit: DRAFT_YAML_MAX + 4096 }, async (req, reply) => {
      secure(reply);
      const parsed = testSettingsBody.safeParse(req.body);
      if (!parsed.success)
        return reply.code(400).send({
          error: 'invalid request',
          problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`),
        });
      if (busy) return reply.code(429).send({ error: 'another Test Settings run is in progress; try again' });
      busy = true;
      try {
        const { draftYaml, ...rest } = parsed.data;
        const input = draftYaml?.trim() ? { ...rest, draftYaml } : rest;
        return reply.send(await source.testSettings(input, AbortSignal.timeout(testTimeoutMs)));
      } catch (e) {
        const err = toServiceError(e, 'status.test-settings');
        log.warn({ err, code: err.code }, 'status page: Test Settings failed');
        return reply.code(502).send({ error: `[${err.code}] ${err.message}` });
      } finally {
        busy = false;
      }
    });
  };
}
