import { describe, expect, it } from 'vitest';
import { failure, pick, psCode, rows } from '../../../src/vault/passwordsafe/ps-json.js';
import { parsePsAuth } from '../../../src/simulators/passwordsafe/sim-sessions.js';

const res = (status: number, body: unknown) => ({ status, headers: {}, body });

describe('Password Safe JSON and error mapping', () => {
  it('reads fields case-insensitively and list shapes uniformly', () => {
    expect(pick({ SystemID: 4 }, 'SystemId')).toBe(4);
    expect(rows([{ a: 1 }])).toEqual([{ a: 1 }]);
    expect(rows({ TotalCount: 1, Data: [{ a: 1 }] })).toEqual([{ a: 1 }]);
    expect(rows({ AccountId: 1 })).toEqual([{ AccountId: 1 }]);
    expect(rows(undefined)).toEqual([]);
  });

  it('maps statuses and 403 codes to the catalogue', () => {
    expect(psCode('4034 - Request is not yet approved')).toBe(4034);
    expect(failure(res(403, '4034 - Request is not yet approved'), 'x', 'do it').code).toBe('vault.approval_pending');
    expect(failure(res(403, '4031 - no permission'), 'x', 'do it').code).toBe('vault.forbidden');
    expect(failure(res(403, { Message: '4033 approver only' }), 'x', 'do it').details?.vaultCode).toBe(4033);
    expect(failure(res(404, 'gone'), 'x', 'do it').code).toBe('credential.not_found');
    expect(failure(res(409, '4091 - exists'), 'x', 'do it').code).toBe('vault.conflict');
    expect(failure(res(400, 'too long'), 'x', 'do it').code).toBe('vault.rejected');
    expect(failure(res(401, ''), 'x', 'do it').code).toBe('vault.auth_failed');
    expect(failure(res(302, ''), 'x', 'do it').code).toBe('vault.protocol');
  });

  it('parses PS-Auth in the shapes real clients send', () => {
    expect(parsePsAuth('PS-Auth key=abc; runas=CORP\\jdoe;')).toEqual({ key: 'abc', runas: 'CORP\\jdoe' });
    expect(parsePsAuth('PS-Auth key=abc;runas=jdoe; pwd=[p;w]d];')).toEqual({
      key: 'abc',
      runas: 'jdoe',
      pwd: 'p;w]d',
    });
    expect(parsePsAuth('Bearer xyz')).toBeUndefined();
  });
});
