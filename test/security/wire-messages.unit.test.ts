import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ServiceError } from '../../src/platform/errors.js';
import { toWireError } from '../../src/appliance/channel/wire-errors.js';

describe('what a console user can read in an error', () => {
  it('never the database text of a store error (the log keeps it)', () => {
    const e = new ServiceError(
      'store.write_failed',
      'store recordCredentialEvent failed: value too long for type character varying(64)',
    );
    expect(toWireError(e)).toEqual({
      code: 'internal',
      message: ERROR_CATALOGUE['store.write_failed'].meaning,
      retryable: false,
    });
    expect(JSON.stringify(toWireError(e))).not.toMatch(/varying|recordCredentialEvent/);
    expect(e.message).toContain('character varying(64)');
  });

  it('request errors keep their own message, which names the field', () => {
    const e = new ServiceError('request.too_large', 'request.context.session.lsid is longer than 64 characters');
    expect(toWireError(e).message).toBe('request.context.session.lsid is longer than 64 characters');
  });
});
