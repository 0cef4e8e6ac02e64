/**
 * Polls `cond` until it holds (real sockets and processes need real time to deliver). The timeout
 * only bounds a hang; on a crowded machine a TLS handshake alone can take seconds.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
