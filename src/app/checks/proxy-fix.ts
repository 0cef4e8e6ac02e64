import type { ErrorCode } from '../../platform/errors.js';

/** The `check` fix line for a proxy failure (`proxy.*` codes) of the proxy configured at `path`. */
export function proxyFix(code: ErrorCode, path: string): string {
  switch (code) {
    case 'proxy.refused':
      return `allow CONNECT to the host named above on the proxy (${path}.url), or add the host to ${path}.noProxy`;
    case 'proxy.auth_failed':
      return `check ${path}.username and ${path}.password against the proxy's accounts`;
    case 'proxy.unresolvable':
      return `fix the host name in ${path}.url, or this host's DNS`;
    default:
      return `start the proxy, or fix ${path}.url (host and port)`;
  }
}
