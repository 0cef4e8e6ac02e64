// Bundles the CLI into dist/bundle/, which is what bin/ecm-bridge.js runs. Run by `npm run build`
// after tsc (which type-checks and still emits the per-module dist/ that tests import without a
// TypeScript loader).
//
// Why a bundle: `serve` spends most of its start-up on the main thread, and before this Node
// resolved, read and compiled about 760 separate modules there (our ~130 and undici, zod, yaml,
// fastify, prom-client with theirs) while PGlite waited for the same thread to start Postgres.
// A few chunks, whitespace- and syntax-minified, take about two thirds of that time (measured in
// docs/benchmarks.md, "Bundled CLI"). Commands still load lazily: each command module is a
// dynamic import, so it becomes its own chunk, and `--help` loads none of them.
//
// Identifiers and names are kept, so stack traces read as the source does; the source maps beside
// the chunks map them to src/ with `NODE_OPTIONS=--enable-source-maps`.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const OUT = 'dist/bundle';

// Packages left to Node's own loader, each for a reason:
const external = [
  // PGlite loads its WebAssembly and data files from beside its own modules.
  '@electric-sql/pglite',
  // Only the SQL Server store needs these, loaded lazily; bundling them would only add bytes.
  'mssql',
  'tedious',
  // pino starts transports in worker threads by file; pino-pretty is required by path.
  'pino',
  'pino-pretty',
  'thread-stream',
  // ws requires these optional native add-ons inside a try; absent, ws uses JavaScript.
  'bufferutil',
  'utf-8-validate',
  // fastify's schema compilers and inject(): the bridge's own servers declare no route schemas
  // and never inject, so these must not cost the bridge a byte of parsing; the simulators' uses
  // load them from node_modules when they run.
  'ajv',
  'ajv-formats',
  '@fastify/ajv-compiler',
  'fast-json-stringify',
  '@fastify/fast-json-stringify-compiler',
  'light-my-request',
];

const result = await build({
  // The Test Settings draft check runs in a worker thread, which loads its module by file.
  entryPoints: { main: 'src/main.ts', 'draft-check-worker': 'src/app/checks/draft-check-worker.ts' },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunk-[hash]',
  external,
  minifyWhitespace: true,
  minifySyntax: true,
  // Functions keep their .name through esbuild's renaming: fastify's avvio names plugins by it,
  // and logged errors and warnings show it.
  keepNames: true,
  sourcemap: 'linked',
  metafile: true,
  // The CommonJS packages in the bundle call require() for Node's built-ins; an ES module has none.
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
  write: false,
});
// Written in place, file by file, and only where a file changed: processes may be running the
// bundle while it is rebuilt (a test suite's `npm install` of the checkout runs this script), and
// they must never see a half-written chunk. Each write goes to a temporary file renamed over the
// old one. Chunks that no output names any more are removed last.
function replace(path, contents) {
  if (existsSync(path) && Buffer.compare(readFileSync(path), contents) === 0) return;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}
mkdirSync(OUT, { recursive: true });
for (const file of result.outputFiles) replace(file.path, file.contents);
// Which sources each chunk holds: test/helpers/bundle-inputs.ts reads it to tell which modules a
// traced process really loaded. Always rewritten: its time stamps the build (test/helpers/cli.ts).
const meta = resolve(OUT, 'meta.json');
writeFileSync(`${meta}.${process.pid}.tmp`, JSON.stringify(result.metafile));
renameSync(`${meta}.${process.pid}.tmp`, meta);
const wanted = new Set([meta, ...result.outputFiles.map((f) => f.path)]);
for (const name of readdirSync(OUT)) {
  // Another build's temporary files are its own to rename.
  if (!wanted.has(resolve(OUT, name)) && !name.endsWith('.tmp')) rmSync(join(OUT, name));
}
