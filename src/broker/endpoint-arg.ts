import type { Endpoint } from './broker-port.js';
import { normaliseIp } from './endpoint-matcher.js';

/**
 * An endpoint as an administrator types it (`test-settings --endpoint`, the status page):
 * `web01` -> hostname, `web01.corp.example.com` -> FQDN (and its short name), an IP (with port) -> ip.
 */
export function endpointFromArg(arg: string): Endpoint {
  if (normaliseIp(arg) !== undefined) return { ip: arg };
  if (arg.includes('.')) return { hostname: arg.split('.')[0] ?? arg, fqdn: arg };
  return { hostname: arg };
}
