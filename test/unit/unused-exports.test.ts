import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unusedExports } from '../../scripts/unused-exports.mjs';

/** A small project laid out like this one: src/, test/, scripts/ and a tsconfig.json over them. */
function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ecm-unused-'));
  const all: Record<string, string> = {
    'package.json': JSON.stringify({ type: 'module' }),
    'tsconfig.json': JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] },
      include: ['src', 'test', 'scripts'],
    }),
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('unused exports (npm run lint)', () => {
  it('lists the exports nothing uses, and only those', () => {
    const root = project({
      'src/a.ts': [
        'export const imported = 1;',
        'export const dead = 2;',
        'export interface Options { n: number }', // named only by the exported function below
        'export function make(o: Options): number { return o.n; }',
        'export type DeadType = string;',
        'export const fromTest = 3;',
        'export const viaNamespace = 4;',
        'export const viaDynamic = 5;',
        'export const viaBarrel = 6;',
        'export const deadInBarrel = 7;',
        'export const fromDist = 8;',
      ].join('\n'),
      'src/barrel.ts': `export { viaBarrel, deadInBarrel } from './a.js';`,
      'src/b.ts': [
        `import { imported, make } from './a.js';`,
        `import * as a from './a.js';`,
        `import { viaBarrel } from './barrel.js';`,
        `export const all = imported + make({ n: 1 }) + a.viaNamespace + viaBarrel;`,
        `export async function later(): Promise<number> { const { viaDynamic } = await import('./a.js'); return viaDynamic; }`,
      ].join('\n'),
      'test/a.test.ts': `import { fromTest } from '../src/a.js';\nimport { all, later } from '../src/b.js';\nvoid [fromTest, all, later];`,
      'scripts/child.mjs': `import { fromDist } from '../dist/a.js';\nconsole.log(fromDist);`,
    });
    expect(unusedExports(root)).toEqual([
      'src/a.ts: DeadType is exported but used nowhere (not even in its own file)',
      'src/a.ts: dead is exported but used nowhere (not even in its own file)',
      // re-exported by the barrel, but that re-export is used by nothing either
      'src/a.ts: deadInBarrel is exported but used nowhere (not even in its own file)',
      'src/barrel.ts: deadInBarrel is exported but used nowhere (not even in its own file)',
    ]);
  });
});
