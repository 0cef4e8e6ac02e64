// The layering of src/ as a check (docs/architecture.md, "Dependency rules"). Each rule names
// the top-level folders (or single port files) a folder may import from; `src/app` is the only
// composition root and only the CLI imports it; no import circles anywhere in src/.
//
// Imports are read with the TypeScript parser, so every form the compiler or Node would follow
// is seen: static imports (type-only and side-effect ones too), `export … from`,
// `import x = require()`, `import()` calls and `import('…')` types, `require()` and
// `createRequire(…)(…)` calls. A specifier that is not a literal cannot be checked and is refused.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

const PLATFORM = ['src/platform/', 'src/protocol/'];

/** Folder -> what it may import besides itself. A path ending in .ts allows that one file. */
export const RULES = {
  'src/protocol/': [],
  // The foundation knows no domain and no wire: what an error code becomes on the ECM channel is
  // decided at the channel (src/appliance/channel/wire-errors.ts).
  'src/platform/': [],
  'src/vault/': [...PLATFORM],
  'src/broker/': ['src/platform/', 'src/vault/vault-port.ts'],
  'src/appliance/': [...PLATFORM, 'src/broker/broker-port.ts'],
  'src/reporting/': [
    ...PLATFORM,
    'src/appliance/api/access-token.ts',
    'src/appliance/site-config.ts',
    'src/appliance/api/xml-api.ts',
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
  'src/cli/': ['src/app/', ...PLATFORM, 'src/broker/broker-port.ts'],
};

/**
 * Commands that use a domain's own pure function or a simulator directly (file -> what it may
 * import besides its folder's rule). Each is a command about that part alone, with nothing to
 * compose: the simulators for `sim …` and `demo`, the migration text for `db`, the report parser
 * for `report parse`, the explain report's rendering and the endpoint argument for
 * `test-settings`.
 */
export const COMMAND_RULES = {
  'src/cli/sim-appliance-command.ts': ['src/simulators/'],
  'src/cli/sim-passwordsafe-command.ts': ['src/simulators/'],
  'src/cli/sim-console-command.ts': ['src/simulators/'],
  'src/cli/demo-command.ts': ['src/simulators/'],
  'src/cli/db-command.ts': ['src/store/migrations.ts'],
  'src/cli/report-parse.ts': ['src/reporting/report-xml-parser.ts', 'src/reporting/session-record.ts'],
  'src/cli/test-settings-command.ts': [
    'src/broker/broker.ts',
    'src/broker/endpoint-arg.ts',
    'src/broker/explain-render.ts',
  ],
};

/**
 * Inside a folder, sub-folder -> the sibling sub-folders it never imports. The store adapters
 * stand alone (each implements the ports with only the shared files beside it); the appliance is
 * layered: the API clients know no node choice or channel, the node choice (topology) knows no
 * channel.
 */
export const SUBFOLDER_RULES = {
  'src/store/pglite/': ['src/store/mssql/', 'src/store/memory/'],
  'src/store/mssql/': ['src/store/pglite/', 'src/store/memory/'],
  'src/store/memory/': ['src/store/pglite/', 'src/store/mssql/'],
  'src/appliance/api/': ['src/appliance/topology/', 'src/appliance/channel/'],
  'src/appliance/topology/': ['src/appliance/channel/'],
};

const literal = (node) =>
  node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : null;

const isRequire = (callee) =>
  (ts.isIdentifier(callee) && callee.text === 'require') ||
  // createRequire(import.meta.url)('x')
  (ts.isCallExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'createRequire');

/**
 * Every module specifier in one file, as the compiler reads it: `{ spec, form, line }`, where
 * `spec` is null for a computed one (`import(name)`).
 */
export function specifiersOf(file, source) {
  const key = `${file}\0${source}`;
  const known = parsed.get(key);
  if (known) return known;
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out = [];
  const add = (node, spec, form) =>
    out.push({ spec, form, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  const visit = (node) => {
    if (ts.isImportDeclaration(node)) {
      add(node, literal(node.moduleSpecifier), node.importClause ? 'import' : 'side-effect import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node, literal(node.moduleSpecifier), 'export from');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, literal(node.moduleReference.expression), 'import = require');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, literal(node.arguments[0]), 'import()');
    } else if (ts.isCallExpression(node) && isRequire(node.expression)) {
      add(node, literal(node.arguments[0]), 'require()');
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      add(node, ts.isLiteralTypeNode(arg) ? literal(arg.literal) : null, 'import() type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  parsed.set(key, out);
  return out;
}

/** Parsed files by path and text: the tests check the same tree many times with one file changed. */
const parsed = new Map();

/** The relative imports of one file, resolved to repository paths of .ts files (computed ones as null). */
export function importsOf(file, source) {
  return specifiersOf(file, source)
    .filter((s) => s.spec === null || s.spec.startsWith('./') || s.spec.startsWith('../'))
    .map((s) => ({ ...s, target: s.spec === null ? null : resolve(file, s.spec) }));
}

function resolve(file, spec) {
  const path = normalize(join(dirname(file), spec));
  if (/\.[cm]?js$/.test(path)) return path.replace(/\.([cm]?)js$/, '.$1ts');
  return /\.\w+$/.test(path) ? path : `${path}.ts`;
}

function folderOf(file) {
  return Object.keys(RULES).find((f) => file.startsWith(f));
}

const allows = (grants, target) => grants.some((a) => (a.endsWith('.ts') ? target === a : target.startsWith(a)));

/** Every violation in `files` (path -> source), as readable lines; empty when the layering holds. */
export function checkDependencies(files) {
  const problems = [];
  const graph = new Map();
  for (const [file, source] of files) {
    const imports = importsOf(file, source);
    const folder = folderOf(file);
    const entry = file === 'src/main.ts';
    const targets = [];
    for (const { target, form, line } of imports) {
      const at = `${file}:${line}`;
      if (target === null) {
        problems.push(`${at}: ${form} with a computed specifier: the dependency rules cannot check it; use a literal`);
        continue;
      }
      if (!target.startsWith('src/')) continue;
      targets.push(target);
      const what = `${at} imports ${target} (${form})`;
      if (target === 'src/main.ts' || target.startsWith('src/cli/')) {
        if (folder !== 'src/cli/' && !entry) problems.push(`${what}: only the entry point uses the CLI`);
        continue;
      }
      if (target.startsWith('src/app/') && folder !== 'src/app/' && folder !== 'src/cli/' && !entry) {
        problems.push(`${what}: only src/cli and src/main.ts use the composition root`);
        continue;
      }
      const sub = Object.keys(SUBFOLDER_RULES).find((f) => file.startsWith(f));
      if (sub && SUBFOLDER_RULES[sub].some((f) => target.startsWith(f))) {
        problems.push(`${what}: ${sub} never imports ${SUBFOLDER_RULES[sub].join(', ')}`);
        continue;
      }
      if (!folder || target.startsWith(folder)) continue;
      const grants = [...RULES[folder], ...(COMMAND_RULES[file] ?? [])];
      if (!allows(grants, target)) problems.push(`${what}: ${file} may import only ${grants.join(', ') || 'itself'}`);
    }
    graph.set(file, targets);
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
