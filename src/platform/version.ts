import { readFileSync } from 'node:fs';
import { packagePath } from './package-path.js';

/** The package version, from package.json. */
export const BRIDGE_VERSION: string = (
  JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }
).version;
