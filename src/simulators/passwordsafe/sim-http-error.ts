/**
 * A Password Safe error answer: the status and the body the real API sends (a JSON string,
 * numeric-coded for the 403/409 business errors, e.g. "4034 - Request is not yet approved").
 */
export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`${status} ${body}`);
  }
}

/** Reads a JSON field the way Password Safe does: field names are case-insensitive. */
export function field(body: Record<string, unknown>, name: string): unknown {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(body)) if (k.toLowerCase() === want) return v;
  return undefined;
}

/** Password Safe's date form: local-looking ISO without zone, two fractional digits. */
export function psDate(ms: number): string {
  return new Date(ms).toISOString().replace(/(\.\d{2})\dZ$/, '$1');
}
