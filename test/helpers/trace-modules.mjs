// Preloaded with `node --import` by test/e2e/cli-lazy-load.test.ts: writes every module the
// process loads, one path or URL a line, to the file named by TRACE_MODULES_FILE. ES modules
// are seen by a resolve hook (it runs on the loader thread); CommonJS modules required from
// other CommonJS modules bypass those hooks in Node 20, so the require cache is added at exit.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.TRACE_MODULES_FILE;
if (!file) throw new Error('TRACE_MODULES_FILE must name the file to write the module list to');
register('./trace-modules-hooks.mjs', import.meta.url, { data: { file } });
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => appendFileSync(file, Object.keys(cache).join('\n') + '\n'));
