import { ServiceError } from '../../platform/errors.js';

/**
 * The vault user name as it may appear in `runas=` of a PS-Auth header. An HTTP header value
 * carries only Latin-1 bytes, and undici refuses anything else *after* it has taken a pooled
 * connection; such a refusal must therefore never reach the network layer (it would be retried
 * as a transport error and leak the connection). Refused here as well: control characters
 * (C0, DEL, C1), which no directory name contains and which would let a name split the header,
 * and `;`, the PS-Auth field separator.
 */
export function checkRunasName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const printable = (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff);
    if (!printable || c === 0x3b) {
      throw new ServiceError(
        'request.bad',
        `the vault user name contains ${describe(name, i)} at position ${i + 1}, which a PS-Auth header cannot carry; map the console user to a Latin-1 vault user name`,
        { op: 'vault.sign_in', details: { position: i + 1, codeUnit: c } },
      );
    }
  }
  return name;
}

/** `U+7530` style, for the full code point at `i` (a lone surrogate is named as such). */
function describe(name: string, i: number): string {
  const cp = name.codePointAt(i) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  return cp >= 0xd800 && cp <= 0xdfff ? `a lone surrogate (${hex})` : `the character ${hex}`;
}
