import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * `npm ci` and `npm install -g` of the packed release warn (EBADENGINE) for every locked package
 * whose `engines.node` refuses the running Node; the bridge supports Node 20.19+, so no locked
 * package may demand more (cookie@2 did). `overrides` and the lock apply only in the checkout: an
 * install of the tarball resolves afresh, so the dependency ranges themselves must lead to such
 * versions (the release test installs the tarball and finds no EBADENGINE).
 */
type Version = [number, number, number];

function parse(v: string): Version {
  const [a = 0, b = 0, c = 0] = v
    .replace(/^v/, '')
    .split('.')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : 0));
  return [a, b, c];
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The subset of npm's range syntax the lock uses: `||`, `>=`, `>`, `<`, `<=`, `^`, bare versions, `*` (any). */
function satisfies(node: string, range: string): boolean {
  const v = parse(node);
  return range.split('||').some((alt) =>
    (
      alt
        .trim()
        .replace(/([<>=^]+)\s+/g, '$1')
        .match(/\S+/g) ?? []
    ).every((c) => {
      if (c === '*') return true;
      const [, op = '', ver = ''] = /^([<>=^]*)(.*)$/.exec(c)!;
      const r = parse(ver);
      const d = compare(v, r);
      if (op === '>=') return d >= 0;
      if (op === '>') return d > 0;
      if (op === '<') return d < 0;
      if (op === '<=') return d <= 0;
      if (op === '^') return d >= 0 && v[0] === r[0];
      return v[0] === r[0] && (ver.split('.').length < 2 || v[1] === r[1]);
    }),
  );
}

describe('locked dependencies run on every supported Node', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, { version?: string; optional?: boolean; engines?: { node?: string } | string[] }>;
  };

  it('the range check reads the forms the lock uses', () => {
    expect(satisfies('20.19.0', '>=20.19 <21 || >=22.12')).toBe(true);
    expect(satisfies('21.0.0', '>=20.19 <21 || >=22.12')).toBe(false);
    expect(satisfies('20.19.0', '>=22')).toBe(false);
    expect(satisfies('20.19.0', '^20.19.0 || ^22.13.0')).toBe(true);
    expect(satisfies('20.19.0', '>= 14')).toBe(true);
    expect(satisfies('20.19.0', '^16 || ^18 || >=20')).toBe(true);
    expect(satisfies('20.19.0', '>=20.18.1')).toBe(true);
    expect(satisfies('20.19.0', '*')).toBe(true);
  });

  it('the tree needs no overrides (they would not reach an installed release)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { overrides?: unknown };
    expect(pkg.overrides).toBeUndefined();
  });

  it.each(['20.19.0', '22.12.0', '24.0.0'])('Node %s satisfies engines.node of every locked package', (node) => {
    const refusing = Object.entries(lock.packages)
      // Optional platform builds (wasm fallbacks of dev tools) are skipped by npm where they do not fit.
      .filter(([, p]) => !p.optional && p.engines && !Array.isArray(p.engines) && p.engines.node)
      .filter(([, p]) => !satisfies(node, (p.engines as { node: string }).node))
      .map(([name, p]) => `${name}@${p.version} (${(p.engines as { node: string }).node})`);
    expect(refusing).toEqual([]);
  });
});
