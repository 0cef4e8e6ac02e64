import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderErrorCatalogue } from '../../../src/app/error-docs.js';
import { ERROR_CATALOGUE, ServiceError } from '../../../src/platform/errors.js';
import { toWireError } from '../../../src/appliance/channel/wire-errors.js';

describe('error catalogue', () => {
  it('docs/errors.md is generated from the catalogue (run `npm run docs:errors`)', () => {
    expect(readFileSync('docs/errors.md', 'utf8')).toBe(renderErrorCatalogue());
  });

  it('documents every code with a meaning and an action', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      expect(e.meaning.length, code).toBeGreaterThan(10);
      expect(e.action.length, code).toBeGreaterThan(5);
    }
  });

  it('gives the console only the wire code and the safe message', () => {
    const err = new ServiceError('policy.denied', 'policy "prod-ticket" requires a ticket', {
      cause: new Error('inner detail'),
    });
    expect(toWireError(err)).toEqual({
      code: 'forbidden',
      message: 'policy "prod-ticket" requires a ticket',
      retryable: false,
    });
    expect(JSON.stringify(toWireError(err))).not.toContain('inner detail');
  });
});
