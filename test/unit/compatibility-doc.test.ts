import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Every page an administrator reads, and the example config. */
const PAGES = [
  'README.md',
  'config/ecm-bridge.example.yaml',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('docs/compatibility.md', () => {
  it('states one SQL Server minimum, the same on every page', () => {
    const stated = PAGES.flatMap((page) =>
      [...readFileSync(page, 'utf8').matchAll(/SQL Server (\d{4})/g)].map((m) => `${page}: ${m[1]}`),
    );
    expect(stated.length).toBeGreaterThan(2);
    expect(stated.filter((s) => !s.endsWith(': 2016'))).toEqual([]);
  });

  it("lists the integration guide's minimum versions and what was tested against what", () => {
    const text = readFileSync('docs/compatibility.md', 'utf8');
    for (const [product, version] of [
      ['Password Safe', '21.2'],
      ['Endpoint Credential Manager (ECM)', '1.6'],
      ['Integration Client', '1.7.0'],
      ['BeyondInsight', '6.10'],
      ['Privileged Remote Access (PRA)', '19.2.1'],
    ] as const)
      expect(text).toMatch(
        new RegExp(`\\| ${product.replace(/[()]/g, '\\$&')}[^|\\n]*\\| ${version.replace(/\./g, '\\.')} \\|`),
      );
    expect(text).toContain('Babelfish for PostgreSQL 4.3');
    expect(text).toMatch(/never run on a real SQL Server/);
    expect(text).toMatch(/Windows \/ Integrated authentication[\s\S]{0,40}is not supported/);
  });
});
