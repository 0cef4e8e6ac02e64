import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every metric the code registers, by the `name:` of its prom-client constructor. */
function registeredNames(): string[] {
  const names = new Set<string>();
  for (const e of readdirSync('src', { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.ts'))
      for (const m of readFileSync(join(e.parentPath, e.name), 'utf8').matchAll(/name: '(ecm_bridge_[a-z_]+)'/g))
        names.add(m[1]!);
  return [...names].sort();
}

describe('metric names', () => {
  const names = registeredNames();
  const doc = readFileSync('docs/operations.md', 'utf8');

  it('are each listed in docs/operations.md (the names dashboards and the status page rely on)', () => {
    expect(names.length).toBeGreaterThan(20);
    expect(names.filter((n) => !doc.includes(`| \`${n}\` |`))).toEqual([]);
  });

  it('follow Prometheus conventions: counters end in _total, timings in _duration_seconds, one unit suffix', () => {
    const text = readFileSync('docs/operations.md', 'utf8');
    for (const n of names) {
      const type = new RegExp(`\\| \`${n}\` \\| (\\w+) \\|`).exec(text)?.[1];
      if (type === 'counter') expect(n).toMatch(/_total$/);
      else expect(n).not.toMatch(/_total$/);
      if (type === 'histogram') expect(n).toMatch(/_duration_seconds$/);
    }
  });
});
