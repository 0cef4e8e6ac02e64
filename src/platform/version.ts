import { readFileSync } from 'node:fs';

/** The package version; src/platform/ and dist/platform/ both sit two levels below package.json. */
export const BRIDGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
