import { isServiceError, type ServiceError } from '../../src/platform/errors.js';

/** Awaits `p`, which must reject with a ServiceError, and returns that error for assertions. */
export async function rejection(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    if (isServiceError(e)) return e;
    throw e;
  }
  throw new Error('expected a ServiceError rejection');
}
