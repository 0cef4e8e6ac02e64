import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { OpParams, RequestContext } from '../../../src/protocol/ecm-protocol.js';
import { OP_PARAMS, requestContextSchema, type ValidParams } from '../../../src/protocol/ecm-schemas.js';

// The request side of the wire is described once, by the schemas that validate it: the types
// callers write requests with are exactly what the schemas accept (checked by `npm run typecheck`).
describe('ECM wire types', () => {
  it('are the input types of the schemas that validate them', () => {
    expectTypeOf<RequestContext>().toEqualTypeOf<z.input<typeof requestContextSchema>>();
    expectTypeOf<OpParams['credentials.list']>().toEqualTypeOf<{ purpose?: 'login' | 'run-as' | undefined }>();
    expectTypeOf<OpParams['credentials.get']>().toEqualTypeOf<{ credentialId: string }>();
    // What validation hands on: the list purpose defaulted.
    expectTypeOf<ValidParams['credentials.list']>().toEqualTypeOf<{ purpose: 'login' | 'run-as' }>();
  });

  it('accept what a request typed with them carries', () => {
    const context: RequestContext = {
      user: { username: 'CORP\\jdoe', securityProvider: { name: 'corp-ad' } },
      endpoint: { hostname: 'web01', ip: '10.0.4.17:3389' },
      // Any short type string: a later appliance may send types this bridge does not know.
      jumpItem: { id: 7, type: 'kubernetes', jumpGroup: { name: 'Ops', type: 'shared' } },
      session: { lsid: 'abc123' },
    };
    expect(requestContextSchema.parse(context)).toEqual(context);
    const params: OpParams['credentials.list'] = {};
    expect(OP_PARAMS['credentials.list'].parse(params)).toEqual({ purpose: 'login' });
  });
});
