import type { Secret } from '../platform/secret.js';

/**
 * Supplies the OAuth bearer token of one API account on one site. Implementations cache the
 * token for the process, refresh it before expiry, and collapse concurrent refreshes into one
 * (an account holds at most 30 live tokens: never mint per request).
 */
export interface AccessTokenProvider {
  /** A currently valid token (cached, or freshly minted when near expiry). */
  token(signal?: AbortSignal): Promise<Secret>;
  /** Called after a 401 "Access token is invalid": the next `token()` mints a new one (once). */
  invalidate(rejected: Secret): void;
}
