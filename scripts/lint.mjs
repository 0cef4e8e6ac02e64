// Project rules that the type checker cannot see. Exits non-zero listing each violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkDependencies, readSources } from './dependency-rules.mjs';

const walk = (dir) =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
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
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: ok');
