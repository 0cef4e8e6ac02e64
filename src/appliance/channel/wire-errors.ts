import { ERROR_CATALOGUE, type ErrorCode, type ServiceError } from '../../platform/errors.js';
import type { WireCode, WireError } from '../../protocol/ecm-protocol.js';

/**
 * What each error code becomes on the ECM channel (spec, "Error codes"): the console knows only
 * these few codes. The channel is the one edge that speaks the wire, so the mapping lives here
 * and the catalogue (src/platform/errors.ts) stays free of it; `satisfies` makes a new code
 * without a wire code a compile error. docs/errors.md shows it as the `wire` column.
 */
export const WIRE_CODES = {
  'config.invalid': 'internal',
  'config.unreadable': 'internal',
  'config.ca_unreadable': 'internal',
  'cli.usage': 'bad_request',
  'request.bad': 'bad_request',
  'request.too_large': 'bad_request',
  'mapping.unmapped': 'unmapped_user',
  'mapping.denied': 'forbidden',
  'policy.denied': 'forbidden',
  'credential.id_invalid': 'forbidden',
  'credential.id_used': 'forbidden',
  'credential.not_found': 'not_found',
  'vault.unavailable': 'vault_unavailable',
  'vault.auth_failed': 'vault_error',
  'vault.forbidden': 'forbidden',
  'vault.approval_pending': 'approval_pending',
  'vault.conflict': 'conflict',
  'vault.rejected': 'vault_error',
  'vault.tls': 'vault_unavailable',
  'vault.request_invalid': 'vault_error',
  'vault.protocol': 'vault_error',
  'appliance.auth_failed': 'internal',
  'appliance.permission_missing': 'internal',
  'appliance.xml_api_disabled': 'internal',
  'appliance.unavailable': 'internal',
  'appliance.tls': 'internal',
  'appliance.protocol': 'internal',
  'appliance.api_error': 'internal',
  'proxy.refused': 'vault_unavailable',
  'proxy.auth_failed': 'vault_unavailable',
  'proxy.unreachable': 'vault_unavailable',
  'proxy.unresolvable': 'vault_unavailable',
  'channel.closed': 'internal',
  'channel.overloaded': 'internal',
  'report.xml_invalid': 'internal',
  'report.incomplete': 'internal',
  'report.recording_host_refused': 'internal',
  'report.leader_lost': 'internal',
  'report.recording_limit': 'internal',
  'store.unavailable': 'internal',
  'store.migration_failed': 'internal',
  'store.write_failed': 'internal',
  'store.fenced': 'internal',
  'service.shutting_down': 'internal',
  'service.timeout': 'timeout',
  internal: 'internal',
} as const satisfies Record<ErrorCode, WireCode>;

export function wireCode(code: ErrorCode): WireCode {
  return WIRE_CODES[code];
}

/**
 * The error object sent over the ECM channel: code and safe message only. Store errors quote the
 * database's own text (column types, constraint names) for the operator's log; a console user
 * gets the catalogue's sentence instead.
 */
export function toWireError(err: ServiceError): WireError {
  const message = err.code.startsWith('store.') ? ERROR_CATALOGUE[err.code].meaning : err.message;
  return { code: wireCode(err.code), message, retryable: err.retryable };
}
