// Project rules that the type checker cannot see. Exits non-zero listing each violation.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ESLint } from 'eslint';
import { checkDependencies, readSources } from './dependency-rules.mjs';
import { projectProgram, typeErrors, unusedExports } from './unused-exports.mjs';

const CACHE = 'node_modules/.cache/ecm-bridge';

const walk = (dir, ends = ['.ts']) =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (p === 'node_modules' || p === 'dist' || n.startsWith('.')) return [];
    return statSync(p).isDirectory() ? walk(p, ends) : ends.some((e) => p.endsWith(e)) ? [p] : [];
  });

const rules = [
  {
    files: walk('src').filter((f) => !f.startsWith('src/cli/') && f !== 'src/main.ts'),
    re: /console\.(log|debug|info)\(/,
    why: 'use the injected pino logger',
  },
  { files: walk('src'), re: /export default /, why: 'named exports only' },
  {
    files: walk('src'),
    re: /rejectUnauthorized:\s*false/,
    why: 'TLS verification is always on (simulators excepted, see src/simulators)',
    skip: (f) => f.startsWith('src/simulators/'),
  },
  {
    // In the bundle (scripts/bundle.mjs) a dynamic import of a CommonJS package yields only its
    // default export, where Node would also give the named ones: destructuring them gives undefined.
    files: walk('src'),
    re: /^(?!.*\{ default: \w+ \} = await import\().*\bawait import\(['"][^.'"]/,
    why: "a package's named exports are lost by a dynamic import in the bundle: import it statically, or take only `{ default: X }`",
  },
  { files: walk('test'), re: /\b(it|test|describe)\.only\(/, why: '.only left in a test' },
  {
    files: walk('test'),
    re: /\b(it|test|describe)\.skip\(/,
    why: 'unconditional skip: use skipIf with a printed reason',
  },
];

const problems = [];
for (const rule of rules) {
  for (const f of rule.files) {
    if (rule.skip?.(f)) continue;
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (rule.re.test(line)) problems.push(`${f}:${i + 1}: ${rule.why}: ${line.trim()}`);
      });
  }
}
problems.push(...checkDependencies(readSources('.')));

// Type-aware rules on src/ (eslint.config.mjs), cached by content: only changed files are linted.
const eslint = new ESLint({ cache: true, cacheLocation: `${CACHE}/eslintcache`, cacheStrategy: 'content' });
for (const result of await eslint.lintFiles(['src'])) {
  for (const m of result.messages)
    problems.push(`${relative('.', result.filePath)}:${m.line}:${m.column}: ${m.message} (${m.ruleId ?? 'eslint'})`);
}

// The type check and exports nothing uses, over one program (building it is most of the cost of
// each; `npm run typecheck` would build a second one). Whole-program checks: skipped while no
// source file changed since they last passed (the hash covers every file the program or the .mjs
// scripts read).
const programFiles = [...walk('src'), ...walk('test'), ...walk('scripts'), ...walk('.', ['.mjs'])]
  .filter((f) => !f.startsWith('node_modules') && !f.startsWith('dist'))
  .sort();
const hash = createHash('sha256');
for (const f of [...programFiles, 'tsconfig.json']) hash.update(f).update(readFileSync(f));
const digest = hash.digest('hex');
const stamp = `${CACHE}/program-checks.ok`;
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== digest) {
  const program = projectProgram('.');
  const errors = typeErrors(program);
  if (errors) problems.push(errors.trimEnd());
  const unused = unusedExports('.', program);
  problems.push(...unused.map((u) => `${u}: remove the export (or the code)`));
  if (!errors && unused.length === 0) {
    mkdirSync(CACHE, { recursive: true });
    writeFileSync(stamp, digest);
  }
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
