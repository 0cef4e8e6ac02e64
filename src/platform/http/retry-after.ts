/** Longest wait a Retry-After may ask for; beyond it timers misbehave (Node fires after 1 ms). */
export const RETRY_AFTER_CEILING_MS = 24 * 3_600_000;

/**
 * A Retry-After header (RFC 9110: delta-seconds or an HTTP-date) as milliseconds from `now`,
 * capped at `capMs`; undefined when absent or unreadable. A date in the past means "now" (0).
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number,
  capMs: number = RETRY_AFTER_CEILING_MS,
): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (v === undefined || v === '') return undefined;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    // Only the date forms of RFC 9110; Date.parse alone would also take "5" or "2026".
    if (!/[A-Za-z]{3}/.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, capMs);
}
