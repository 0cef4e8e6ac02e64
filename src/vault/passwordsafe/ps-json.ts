import { ServiceError } from '../../platform/errors.js';
import type { PsResponse } from './ps-client.js';

/** A field of a Password Safe JSON object, by case-insensitive name (`SystemId` vs `SystemID`). */
export function pick(obj: unknown, name: string): unknown {
  if (!obj || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  if (name in rec) return rec[name];
  const want = name.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === want) return rec[k];
  return undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A list answer: an array, `{Data: [...]}`, or a single object (ManagedAccounts with both names). */
export function rows(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  const data = pick(body, 'Data');
  if (Array.isArray(data)) return data;
  return body && typeof body === 'object' ? [body] : [];
}

/** The 4-digit business code Password Safe puts at the start of 403/409 messages. */
export function psCode(body: unknown): number | undefined {
  const text = typeof body === 'string' ? body : (str(pick(body, 'Message')) ?? '');
  const m = /^\s*(\d{4})\b/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** A short, secret-free excerpt of a vault error message, for logs (details), never for consoles. */
export function vaultMessage(res: PsResponse): string {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body ?? '');
  return text.slice(0, 200);
}

/**
 * Maps a non-success answer to the catalogue: 403 by code (4034 → approval_pending, others →
 * forbidden), 404 → not found, 409 → conflict, other 4xx → rejected, anything else → protocol.
 * 401 is handled before this (re-sign-in) and 5xx/408/429 by the client's retries.
 */
export function failure(
  res: PsResponse,
  op: string,
  what: string,
  details: Record<string, unknown> = {},
): ServiceError {
  const code = psCode(res.body);
  const d = {
    ...details,
    status: res.status,
    ...(code === undefined ? {} : { vaultCode: code }),
    vaultMessage: vaultMessage(res),
  };
  const o = { op: `vault.${op}`, details: d };
  switch (res.status) {
    case 401:
      return new ServiceError(
        'vault.auth_failed',
        `Password Safe rejected the session twice while trying to ${what}`,
        o,
      );
    case 403:
      return code === 4034
        ? new ServiceError(
            'vault.approval_pending',
            `the release request to ${what} is waiting for approval in Password Safe`,
            o,
          )
        : new ServiceError(
            'vault.forbidden',
            `Password Safe does not allow the vault user to ${what}${code ? ` (code ${code})` : ''}`,
            o,
          );
    case 404:
      return new ServiceError('credential.not_found', `Password Safe found nothing to ${what}`, o);
    case 409:
      return new ServiceError(
        'vault.conflict',
        `the vault user already holds a release request; cannot ${what} (conflict option "none")`,
        o,
      );
    default:
      return res.status >= 400 && res.status < 500
        ? new ServiceError('vault.rejected', `Password Safe rejected the request to ${what} (HTTP ${res.status})`, o)
        : new ServiceError('vault.protocol', `Password Safe answered HTTP ${res.status} when asked to ${what}`, o);
  }
}
