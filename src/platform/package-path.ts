import { fileURLToPath } from 'node:url';

// This module sits two directories below the package root in every form the code runs in:
// src/platform/ (tests, tsx), dist/platform/ (tsc's per-module build) and dist/bundle/ (the
// bundle the launcher runs, where this code lands in one of its chunks). Every file the package
// ships beside its code (package.json, sql/, the status page, fixtures, the PGlite template) is
// found from here, so no module depends on its own depth.
const ROOT = new URL('../../', import.meta.url);

/** The absolute path of `rel` (a path relative to the package root, `/`-separated). */
export function packagePath(rel: string): string {
  return fileURLToPath(new URL(rel, ROOT));
}
