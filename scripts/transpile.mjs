// Compiles each module of src/ to dist/<same path>.js (one file per module, not bundled), for the
// few tests and scripts that load compiled code without a TypeScript loader (the crash-test child,
// scripts/pglite-template.mjs). Run by `npm run build` before the bundle.
//
// Why esbuild and not `tsc`: the type check is in `npm run lint` (which `npm test` runs beside
// the suites) and `npm run typecheck` (in `prepack`); a tsc program only to emit would check
// every type again (about 15 s of CPU on the 2-core machine). esbuild drops the types the
// way the bundle (scripts/bundle.mjs) does, so these modules and the shipped bundle are compiled
// alike.
import { build } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const OUT = 'dist';
// Outputs of the other build steps, never this one's to remove.
const OTHERS = new Set(['bundle', 'pglite-template']);

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });

const result = await build({
  entryPoints: sources('src'),
  outdir: OUT,
  outbase: 'src',
  bundle: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  write: false,
});
// As the bundle is: file by file, only where a file changed, each through a renamed temporary
// file, because tests may be loading these modules while a suite's `npm pack` rebuilds them.
const wanted = new Set();
for (const file of result.outputFiles) {
  const path = relative(process.cwd(), file.path);
  wanted.add(path);
  if (existsSync(path) && Buffer.compare(readFileSync(path), file.contents) === 0) continue;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, path);
}
// Modules whose source was moved or removed go too, so nothing can load a stale copy.
const prune = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (dir === OUT && (OTHERS.has(e.name) || e.name.startsWith('.'))) continue;
    if (e.isDirectory()) {
      prune(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
    } else if (!wanted.has(p) && !p.endsWith('.tmp')) rmSync(p);
  }
};
prune(OUT);
// The build's time stamp for test/helpers/cli.ts (the outputs above keep their times when unchanged).
writeFileSync(join(OUT, '.transpiled'), `${new Date().toISOString()}\n`);
