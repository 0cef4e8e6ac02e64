import { describe, expect, it } from 'vitest';
import { checkDependencies, readSources } from '../../scripts/dependency-rules.mjs';

/** The source tree with `lines` appended to `path` (a new file when it does not exist). */
function treeWith(path: string, lines: string): Map<string, string> {
  const files = readSources('.');
  files.set(path, `${files.get(path) ?? ''}\n${lines}\n`);
  return files;
}

const STORE_FILE = 'src/store/store-ports.ts';

describe('dependency rules (npm run lint)', () => {
  it('hold for the source tree as it is', () => {
    expect(checkDependencies(readSources('.'))).toEqual([]);
  });

  // One case per way a module can be loaded: each must be seen, or the rule can be walked around.
  // `src/store` importing the composition root is forbidden (and closes a circle through app).
  it.each([
    ['import', `import { UNITS } from '../app/units/unit-keys.js';`],
    ['import', `import type { UnitKey } from '../app/units/unit-keys.js';`],
    ['side-effect import', `import '../app/units/unit-keys.js';`],
    ['export from', `export { UNITS } from '../app/units/unit-keys.js';`],
    ['export from', `export * from '../app/units/unit-keys.js';`],
    ['import = require', `import keys = require('../app/units/unit-keys.js');`],
    ['import()', `export const load = () => import('../app/units/unit-keys.js');`],
    ['import()', 'export const load = () => import(`../app/units/unit-keys.js`);'],
    ['import() type', `export type Keys = typeof import('../app/units/unit-keys.js');`],
    ['require()', `export const keys = require('../app/units/unit-keys.js');`],
    ['require()', `export const keys = createRequire(import.meta.url)('../app/units/unit-keys.js');`],
  ])('fail on a forbidden edge written as %s: %s', (form, line) => {
    const problems = checkDependencies(treeWith(STORE_FILE, line));
    const edge = problems.filter((p) => !p.startsWith('import circle'));
    expect(edge).toEqual([
      expect.stringMatching(
        new RegExp(
          `^src/store/store-ports\\.ts:\\d+ imports src/app/units/unit-keys\\.ts \\(${form.replace(/[()]/g, '\\$&')}\\): only src/cli and src/main\\.ts use the composition root$`,
        ),
      ),
    ]);
  });

  it('refuse an import whose specifier is computed, since it cannot be checked', () => {
    const problems = checkDependencies(
      treeWith(STORE_FILE, `const name = '../app/units/unit-keys.js';\nexport const a = () => import(name);`),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^src\/store\/store-ports\.ts:\d+: import\(\) with a computed specifier/),
    ]);
  });

  it('ignore imports written in comments and strings, as the compiler does', () => {
    const problems = checkDependencies(
      treeWith(
        STORE_FILE,
        `// import '../app/units/unit-keys.js';\nexport const text = "import '../app/units/unit-keys.js'";`,
      ),
    );
    expect(problems).toEqual([]);
  });

  it('fail on a forbidden import between domains, naming the file, the line and the rule', () => {
    const files = readSources('.');
    files.set(
      'src/broker/broker.ts',
      `${files.get('src/broker/broker.ts')}\nimport { PasswordSafeVault } from '../vault/passwordsafe/password-safe-vault.js';\n`,
    );
    files.set('src/platform/clock.ts', `import type { Broker } from '../broker/broker.js';\n`);
    // (clock.ts importing the broker also closes a circle: broker -> clock -> broker; listed too.)
    expect(checkDependencies(files).filter((p) => !p.startsWith('import circle'))).toEqual([
      expect.stringMatching(
        /^src\/broker\/broker\.ts:\d+ imports src\/vault\/passwordsafe\/password-safe-vault\.ts \(import\): src\/broker\/broker\.ts may import only src\/platform\/, src\/vault\/vault-port\.ts$/,
      ),
      'src/platform/clock.ts:1 imports src/broker/broker.ts (import): src/platform/clock.ts may import only itself',
    ]);
  });

  it('keep the wire out of the platform: src/platform may not import src/protocol', () => {
    const wire = `import type { WireCode } from '../protocol/ecm-protocol.js';\n`;
    expect(checkDependencies(treeWith('src/platform/errors.ts', wire))).toEqual([
      expect.stringMatching(
        /^src\/platform\/errors\.ts:\d+ imports src\/protocol\/ecm-protocol\.ts \(import\): src\/platform\/errors\.ts may import only itself$/,
      ),
    ]);
  });

  it('let the CLI reach the simulators only from the commands that run them', () => {
    const sim = `import { ApplianceSimulator } from '../simulators/appliance/appliance-simulator.js';`;
    expect(checkDependencies(treeWith('src/cli/sim-appliance-command.ts', sim))).toEqual([]);
    expect(checkDependencies(treeWith('src/cli/serve-command.ts', sim))).toEqual([
      expect.stringMatching(
        /^src\/cli\/serve-command\.ts:\d+ imports src\/simulators\/appliance\/appliance-simulator\.ts \(import\): src\/cli\/serve-command\.ts may import only src\/app\/, src\/platform\/, src\/protocol\/, src\/broker\/broker-port\.ts$/,
      ),
    ]);
  });

  it('keep the sub-folders apart: one store adapter never imports another, the API clients never the channel', () => {
    const files = readSources('.');
    files.set(
      'src/store/pglite/copy.ts',
      `${files.get('src/store/pglite/copy.ts')}\nimport { bind } from '../mssql/params.js';\n`,
    );
    files.set(
      'src/appliance/api/xml-api.ts',
      `${files.get('src/appliance/api/xml-api.ts')}\nimport type { SiteLink } from '../channel/site-link.js';\n`,
    );
    expect(checkDependencies(files).filter((p) => !p.startsWith('import circle'))).toEqual([
      expect.stringMatching(
        /^src\/appliance\/api\/xml-api\.ts:\d+ imports src\/appliance\/channel\/site-link\.ts \(import\): src\/appliance\/api\/ never imports src\/appliance\/topology\/, src\/appliance\/channel\/$/,
      ),
      expect.stringMatching(
        /^src\/store\/pglite\/copy\.ts:\d+ imports src\/store\/mssql\/params\.ts \(import\): src\/store\/pglite\/ never imports src\/store\/mssql\/, src\/store\/memory\/$/,
      ),
    ]);
  });

  it('fail on an import circle, listing it', () => {
    const files = new Map([
      ['src/reporting/a.ts', `import { b } from './b.js';`],
      ['src/reporting/b.ts', `import type { c } from './c.js';`],
      ['src/reporting/c.ts', `export { a } from './a.js';`],
    ]);
    expect(checkDependencies(files)).toEqual([
      'import circle: src/reporting/a.ts -> src/reporting/b.ts -> src/reporting/c.ts -> src/reporting/a.ts',
    ]);
  });
});
