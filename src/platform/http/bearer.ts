import type { Secret } from '../secret.js';

/** Where bearer tokens come from: a cache that mints when empty or near expiry. */
export interface BearerTokenSource {
  /** A currently valid token (cached, or freshly minted). */
  token(signal?: AbortSignal): Promise<Secret>;
  /** The server refused `rejected`: the next `token()` mints a new one (unless already replaced). */
  invalidate(rejected: Secret): void;
}

/**
 * Sends one request with `Authorization: Bearer <token>`. When the answer says the token was
 * refused (`refused`, usually a 401), drops that token, mints a new one and sends once more; the
 * second answer is returned whatever it is, so a refused fresh token is the caller's to report
 * (a wrong account, not a stale token), and never a third time. The token is revealed only into the header value.
 */
export async function withBearer<R>(
  tokens: BearerTokenSource,
  send: (authorization: string) => Promise<R>,
  refused: (answer: R) => boolean,
  signal?: AbortSignal,
): Promise<R> {
  const first = await tokens.token(signal);
  const answer = await send(`Bearer ${first.reveal()}`);
  if (!refused(answer)) return answer;
  tokens.invalidate(first);
  const fresh = await tokens.token(signal);
  const second = await send(`Bearer ${fresh.reveal()}`);
  // Refused too: still dropped, so a later call (after the account is fixed) starts afresh.
  if (refused(second)) tokens.invalidate(fresh);
  return second;
}
