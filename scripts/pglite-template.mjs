// Makes the PGlite cluster template (src/store/pglite/template.ts explains why): an empty,
// freshly initialised cluster, dumped and gzipped into dist/. Run by `npm run build` after tsc;
// does nothing when the template for the installed PGlite release is already there.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { TEMPLATE_FILE, TEMPLATE_KEY_FILE, templateKey } from '../dist/store/pglite/template.js';

const key = templateKey();
const current = (() => {
  try {
    return readFileSync(TEMPLATE_KEY_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
})();
if (current !== key) {
  const db = await PGlite.create('memory://');
  // Says where a cluster came from (and lets a test tell a loaded template from initdb).
  await db.exec(`COMMENT ON DATABASE postgres IS 'ecm-bridge cluster template (${key})'`);
  const tarball = Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer());
  await db.close();
  mkdirSync(dirname(TEMPLATE_FILE), { recursive: true });
  writeFileSync(TEMPLATE_FILE, gzipSync(tarball, { level: 6 }));
  writeFileSync(TEMPLATE_KEY_FILE, `${key}\n`); // last: a template without its key is never loaded
  console.log(`pglite template: ${TEMPLATE_FILE} (${key})`);
}
