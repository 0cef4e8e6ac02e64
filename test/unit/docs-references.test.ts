import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The README and every page under docs/: what a reader of a clone (or of the npm package) has. */
const PAGES = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('documentation references', () => {
  it('never point outside the repository', () => {
    const outside = PAGES.flatMap((page) =>
      [...readFileSync(page, 'utf8').matchAll(/(?:\.\.\/)+[\w.-][\w./-]*|\bshared\/(?:specs|design|tools)\b[\w./-]*/g)]
        .map((m) => m[0])
        // A relative path is read from the page's folder: only one that climbs out of the clone is outside.
        .filter((ref) => !ref.startsWith('..') || relative('.', resolve(dirname(page), ref)).startsWith('..'))
        .map((ref) => `${page}: ${ref}`),
    );
    expect(outside).toEqual([]);
  });

  it('name only files that exist in the repository', () => {
    const missing = PAGES.flatMap((page) =>
      [
        ...readFileSync(page, 'utf8').matchAll(
          /(?<![\w/.-])((?:docs|src|test|scripts|sql|config|deploy|bin)\/[\w./-]*\w)/g,
        ),
      ]
        .map((m) => m[1]!)
        .filter((path) => !existsSync(path))
        .map((path) => `${page}: ${path}`),
    );
    expect(missing).toEqual([]);
  });
});
