import { stringify } from 'yaml';
import { Secret } from '../secret.js';

/** The effective configuration as YAML, each secret shown as `[REDACTED from env:NAME]`. */
export function renderEffectiveConfig(config: unknown): string {
  const redact = (v: unknown): unknown => {
    if (v instanceof Secret) return v.origin === 'literal' ? '[REDACTED literal]' : `[REDACTED from ${v.origin}]`;
    if (Array.isArray(v)) return v.map(redact);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
    return v;
  };
  return stringify(redact(config), { lineWidth: 0 });
}
