import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const CHUNK = /\/dist\/bundle\/([\w-]+\.js)$/;

/**
 * The source modules behind a traced module list. The launcher runs the bundle (scripts/bundle.mjs),
 * so a trace names its chunks; each chunk is replaced, in place, by the absolute paths of the
 * sources it holds (from the bundle's metafile), so that a test can still ask whether zod or ajv
 * was loaded. A chunk counts as loading all it holds: Node reads and parses the whole file, even
 * the CommonJS parts that are only run when required.
 */
export function bundleSources(modules: string[]): string[] {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  return modules.flatMap((m) => {
    const chunk = CHUNK.exec(m)?.[1];
    if (!chunk) return [m];
    const output = meta.outputs[`dist/bundle/${chunk}`];
    if (!output) throw new Error(`${m} is not in dist/bundle/meta.json: a stale bundle? run \`npm run build\``);
    return [m, ...Object.keys(output.inputs).map((input) => join(ROOT, input))];
  });
}
