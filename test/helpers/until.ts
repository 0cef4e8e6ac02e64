/**
 * Polls `cond` until it holds (real sockets and processes need real time to deliver). The timeout
 * only bounds a hang; on a crowded machine a TLS handshake alone can take seconds. A condition
 * that asks a database or another process polls less often (`everyMs`).
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 10,
): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Options for `vi.waitFor` (whose default gives up after 1 s): like `until`, the timeout only
 * bounds a hang, so a loaded machine that needs longer than a second is never a failure.
 */
export const HANG = { timeout: 60_000, interval: 10 };
