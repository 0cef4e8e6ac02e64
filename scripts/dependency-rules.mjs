// The layering of src/ as a check (docs/architecture.md, "Dependency rules"). Each rule names
// the top-level folders (or single port files) a folder may import from; `src/app` is the only
// composition root and only the CLI imports it; no import circles anywhere in src/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const PLATFORM = ['src/platform/', 'src/protocol/'];

/** Folder -> what it may import besides itself. A path ending in .ts allows that one file. */
export const RULES = {
  'src/protocol/': [],
  'src/platform/': ['src/protocol/'],
  'src/vault/': [...PLATFORM],
  'src/broker/': ['src/platform/', 'src/vault/vault-port.ts'],
  'src/appliance/': [...PLATFORM, 'src/broker/broker-port.ts'],
  'src/reporting/': [
    ...PLATFORM,
    'src/appliance/access-token.ts',
    'src/appliance/site-config.ts',
    'src/appliance/xml-api.ts',
  ],
  'src/store/': [
    ...PLATFORM,
    'src/broker/lease-store-port.ts',
    'src/reporting/report-store-port.ts',
    'src/reporting/session-record.ts',
  ],
  'src/http/': [...PLATFORM],
  'src/simulators/': [...PLATFORM, 'src/reporting/session-record.ts'],
  'src/app/': ['src/'],
  'src/cli/': ['src/'],
};

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Relative imports of one file, resolved to repository paths of .ts files. */
export function importsOf(file, source) {
  const out = [];
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    out.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

function folderOf(file) {
  return Object.keys(RULES).find((f) => file.startsWith(f));
}

/** Every violation in `files` (path -> source), as readable lines; empty when the layering holds. */
export function checkDependencies(files) {
  const problems = [];
  const graph = new Map();
  for (const [file, source] of files) {
    const targets = importsOf(file, source).filter((t) => t.startsWith('src/'));
    graph.set(file, targets);
    const folder = folderOf(file);
    const entry = file === 'src/main.ts';
    for (const target of targets) {
      if (target === 'src/main.ts' || target.startsWith('src/cli/')) {
        if (folder !== 'src/cli/' && !entry)
          problems.push(`${file} imports ${target}: only the entry point uses the CLI`);
        continue;
      }
      if (target.startsWith('src/app/') && folder !== 'src/app/' && folder !== 'src/cli/' && !entry) {
        problems.push(`${file} imports ${target}: only src/cli and src/main.ts use the composition root`);
        continue;
      }
      if (!folder || target.startsWith(folder)) continue;
      const allowed = RULES[folder].some((a) => (a.endsWith('.ts') ? target === a : target.startsWith(a)));
      if (!allowed)
        problems.push(`${file} imports ${target}: ${folder} may import only ${RULES[folder].join(', ') || 'itself'}`);
    }
  }
  for (const cycle of cycles(graph)) problems.push(`import circle: ${cycle.join(' -> ')}`);
  return problems;
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push([...scc.reverse(), scc[0]]);
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The .ts files under `dir`, read from disk, keyed by their path relative to `root`. */
export function readSources(root, dir = 'src') {
  const files = new Map();
  const walk = (d) => {
    for (const name of readdirSync(join(root, d))) {
      const p = join(d, name);
      if (statSync(join(root, p)).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.set(relative('.', p), readFileSync(join(root, p), 'utf8'));
    }
  };
  walk(dir);
  return files;
}
