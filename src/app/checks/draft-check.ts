import { Worker } from 'node:worker_threads';
import { parseConfigText, type Config } from '../config-schema.js';

/** What a draft check is asked: the draft and the console user Test Settings maps with it. */
export interface DraftCheckInput {
  draftYaml: string;
  user: string;
  provider?: string;
  jumpGroup?: string;
}

export type DraftCheckResult = { kind: 'ok' } | { kind: 'invalid'; problems: string[] };

/** How long a draft may take to validate and map one user before its worker is killed. */
export const DRAFT_CHECK_LIMIT_MS = 5_000;

/**
 * A pasted draft parsed with the rules of `config validate`. Its secret references are not
 * resolved against this host (a draft must not read the server's files or environment): each
 * becomes a placeholder long enough for every secret's length rule (the credential id key needs
 * 32 bytes).
 */
export function parseDraft(text: string): Config {
  const placeholder = 'draft-secret-not-resolved-'.padEnd(64, 'x');
  return parseConfigText(text, 'draft', {
    env: new Proxy({}, { get: () => placeholder }),
    readFile: () => placeholder,
  });
}

/**
 * Runs the draft's CPU work (YAML, validation, compiling its patterns, mapping the user) in a
 * worker thread, off the event loop that serves /healthz and the ECM channels. The worker is
 * terminated when it outlives `limitMs`: synchronous work cannot be interrupted from inside, but
 * a thread can be killed from outside. Only a draft that passed here is then used in-process.
 */
export function checkDraft(input: DraftCheckInput, limitMs = DRAFT_CHECK_LIMIT_MS): Promise<DraftCheckResult> {
  const [entry, mode] = workerEntry();
  const worker = new Worker(entry, {
    ...mode,
    workerData: input,
    // A draft must not grow the heap of the process either.
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
    stdout: true,
    stderr: true,
  });
  return new Promise<DraftCheckResult>((resolve) => {
    const done = (result: DraftCheckResult) => {
      clearTimeout(timer);
      resolve(result);
      void worker.terminate();
    };
    const timer = setTimeout(
      () =>
        done(
          invalid(
            `the draft took longer than ${limitMs / 1000} s to validate and map the user, so it was stopped; simplify it`,
          ),
        ),
      limitMs,
    );
    worker.once('message', (m: DraftCheckResult) => done(m));
    worker.once('error', (e) => done(invalid(`the draft could not be checked: ${e.message}`)));
    worker.once('exit', () => done(invalid('the draft check stopped without an answer')));
  });
}

function invalid(problem: string): DraftCheckResult {
  return { kind: 'invalid', problems: [`draft: ${problem}`] };
}

/**
 * The worker's module sits beside this one in every form the code runs in: dist/, dist/bundle/
 * (an entry of its own, scripts/bundle.mjs) and src/. From src/ (tests, tsx) a worker does not
 * inherit the TypeScript loader and Node 20 ignores `--import` in a worker's execArgv, so a
 * one-line bootstrap registers tsx (a dev dependency, resolved from the
 * working directory: the checkout's root) first.
 */
function workerEntry(): [string | URL, { eval?: boolean }] {
  if (!import.meta.url.endsWith('.ts')) return [new URL('./draft-check-worker.js', import.meta.url), {}];
  const file = new URL('./draft-check-worker.ts', import.meta.url).href;
  return [
    `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(file)}); });`,
    { eval: true },
  ];
}
