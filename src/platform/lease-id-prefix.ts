/**
 * A lease id is a handle that releases someone's credential: logs, errors and their details carry
 * only its first characters, enough to follow one lease through the log, never enough to use it.
 */
export function leaseIdPrefix(leaseId: unknown): string {
  const s = String(leaseId);
  return s.length <= 8 ? s : `${s.slice(0, 8)}…`;
}
