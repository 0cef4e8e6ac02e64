import type { ServiceError } from './errors.js';

/**
 * The one shape of a component's health, for the vault, the store and every /readyz entry:
 * `undefined` when it works, else the ServiceError that says why not (its code names the kind of
 * failure, its message is safe to show). /readyz carries the code as `code` beside the reason.
 */
export type Health = ServiceError | undefined;

/** A failure as the status page and `ecm-bridge check` show it: the code, then the safe message. */
export function describeFailure(failure: { code: string; message: string }): string {
  return `[${failure.code}] ${failure.message}`;
}
