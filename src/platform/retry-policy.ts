/**
 * How often and how patiently a failed operation is tried again: the one policy shape of every
 * retry loop (the HTTP clients' `withRetries`, the SQL Server store's `withRetry`) and of the
 * `retries` config fields. Each loop decides what counts as transient and how it waits within it.
 */
export interface RetryPolicy {
  /** Attempts after the first. */
  max: number;
  baseDelayMs: number;
  /** Cap of one wait; a Retry-After asking for more ends the attempts. */
  maxDelayMs: number;
}
