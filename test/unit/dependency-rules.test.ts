import { describe, expect, it } from 'vitest';
import { checkDependencies, readSources } from '../../scripts/dependency-rules.mjs';

const file = (source: string) => source;

describe('dependency rules (npm run lint)', () => {
  it('hold for the source tree as it is', () => {
    expect(checkDependencies(readSources('.'))).toEqual([]);
  });

  it('fail on a forbidden import, naming the file, the import and the rule', () => {
    const files = readSources('.');
    files.set(
      'src/broker/broker.ts',
      `${files.get('src/broker/broker.ts')}\nimport { PasswordSafeVault } from '../vault/passwordsafe/password-safe-vault.js';\n`,
    );
    files.set('src/platform/clock.ts', `import type { Broker } from '../broker/broker.js';\n`);
    files.set('src/store/pglite-store.ts', `export { UNITS } from '../app/unit-keys.js';\n`);
    // (clock.ts importing the broker also closes a circle: broker -> clock -> broker; listed too.)
    expect(checkDependencies(files).filter((p) => !p.startsWith('import circle'))).toEqual([
      expect.stringMatching(
        /^src\/broker\/broker\.ts imports src\/vault\/passwordsafe\/password-safe-vault\.ts: src\/broker\/ may import only/,
      ),
      expect.stringMatching(
        /^src\/platform\/clock\.ts imports src\/broker\/broker\.ts: src\/platform\/ may import only/,
      ),
      'src/store/pglite-store.ts imports src/app/unit-keys.ts: only src/cli and src/main.ts use the composition root',
    ]);
  });

  it('fail on an import circle, listing it', () => {
    const files = new Map([
      ['src/reporting/a.ts', file(`import { b } from './b.js';`)],
      ['src/reporting/b.ts', file(`import type { c } from './c.js';`)],
      ['src/reporting/c.ts', file(`export { a } from './a.js';`)],
    ]);
    expect(checkDependencies(files)).toEqual([
      'import circle: src/reporting/a.ts -> src/reporting/b.ts -> src/reporting/c.ts -> src/reporting/a.ts',
    ]);
  });
});
