import type { BearerTokenSource } from '../../platform/http/bearer.js';

/**
 * Supplies the OAuth bearer token of one API account on one site. Implementations cache the
 * token for the process, refresh it before expiry, and collapse concurrent refreshes into one
 * (an account holds at most 30 live tokens: never mint per request). `invalidate` after a 401
 * "Access token is invalid" makes the next `token()` mint a new one (once: see `withBearer`).
 */
export type AccessTokenProvider = BearerTokenSource;
