import { isAbsolute, resolve } from 'node:path';

/**
 * Where a path written in a config file points: relative paths resolve against the config
 * file's directory (`baseDir`), so a config works whatever the working directory; `memory://`
 * passes through. The schema's `configPath` and `serve`'s early read of the store section
 * (src/app/early-store.ts) both resolve through here, so they cannot disagree.
 */
export function resolveConfigPath(path: string, baseDir: string): string {
  return isAbsolute(path) || path.startsWith('memory://') ? path : resolve(baseDir, path);
}
