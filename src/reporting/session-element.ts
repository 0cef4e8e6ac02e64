import type {
  EventParty,
  SessionCustomer,
  SessionEvent,
  SessionRecord,
  SessionRepresentative,
} from './session-record.js';
import { parseReportTime, TimestampError } from './report-time.js';
import { attr, child, children, childText, int, known, nonEmpty, text, type XmlNode } from './xml-node.js';

/**
 * Thrown by the mapper when a required field is missing or unreadable; the report parser turns
 * it into `report.xml_invalid` naming the site, the window and the session, or (for the worker)
 * into a rejected session that is quarantined.
 */
export class SessionFieldError extends Error {
  constructor(
    readonly lsid: string | undefined,
    readonly field: string,
    detail: string,
  ) {
    super(`session ${lsid ?? '(no lsid)'}: ${field} ${detail}`);
  }
}

/**
 * What a session id (lsid) may be: appliance lsids are 32 hex digits; the pattern is wider
 * (letters, digits, `_`, `-`, up to 64) but never a path separator or dot, since lsids name
 * recording files (`DIR/<site>/<lsid>.<ext>`) and go back into report requests.
 */
export const LSID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Undefined for a valid lsid, else why not: a short, quoted preview, never the whole value. */
export function lsidProblem(value: string): string | undefined {
  if (LSID_PATTERN.test(value)) return undefined;
  const preview = JSON.stringify(value.slice(0, 16)) + (value.length > 16 ? `... (${value.length} characters)` : '');
  return `is not a session id (${preview}; expected 1-64 of A-Z, a-z, 0-9, _ and -)`;
}

/**
 * A time element: its `timestamp` attribute when present, else its ISO text; undefined when both
 * are empty. A value that is present but unusable is refused naming the session and field.
 */
function timeOf(node: XmlNode | undefined, lsid: string | undefined, field: string): Date | undefined {
  const stamp = attr(node, 'timestamp');
  try {
    return parseReportTime(stamp?.trim() ? stamp : text(node));
  } catch (e) {
    if (e instanceof TimestampError) throw new SessionFieldError(lsid, field, e.message);
    throw e;
  }
}

/** `1.2.3.4:5`, `[2a01:db8::5]:6`, `2a01:db8::5`, `1.2.3.4` → address and port. */
export function splitAddress(value: string | undefined): { ip: string | null; port: number | null } {
  const v = known(value)?.trim();
  if (!v) return { ip: null, port: null };
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) return { ip: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : null };
  const v4 = /^([^:]+):(\d+)$/.exec(v);
  if (v4) return { ip: v4[1]!, port: Number(v4[2]) };
  return { ip: v, port: null };
}

function party(node: XmlNode | undefined): EventParty | null {
  if (node === undefined) return null;
  return { type: known(attr(node, 'type')), gsnumber: int(attr(node, 'gsnumber')), name: text(node) ?? '' };
}

function customer(node: XmlNode): SessionCustomer {
  const pub = splitAddress(childText(node, 'public_ip'));
  return {
    gsnumber: int(attr(node, 'gsnumber')) ?? 0,
    username: known(childText(node, 'username')),
    publicIp: pub.ip,
    publicPort: pub.port,
    privateIp: known(childText(node, 'private_ip')),
    hostname: known(childText(node, 'hostname')),
    os: known(childText(node, 'os')),
  };
}

function representative(node: XmlNode): SessionRepresentative {
  const pub = splitAddress(childText(node, 'public_ip'));
  return {
    gsnumber: int(attr(node, 'gsnumber')) ?? 0,
    id: int(attr(node, 'id')),
    username: known(childText(node, 'username')),
    displayName: known(childText(node, 'display_name')),
    publicDisplayName: known(childText(node, 'public_display_name')),
    privateDisplayName: known(childText(node, 'private_display_name')),
    publicIp: pub.ip,
    publicPort: pub.port,
    privateIp: known(childText(node, 'private_ip')),
    hostname: known(childText(node, 'hostname')),
    os: known(childText(node, 'os')),
    sessionOwner: childText(node, 'session_owner')?.trim() === '1',
    secondsInvolved: int(childText(node, 'seconds_involved')),
    invited: childText(node, 'invited')?.trim() === '1',
  };
}

function systemInformation(node: XmlNode | undefined): SessionEvent['systemInformation'] {
  const out: SessionEvent['systemInformation'] = [];
  for (const category of children(node, 'category')) {
    const name = attr(category, 'name') ?? '';
    for (const f of children(category, 'field'))
      out.push({ category: name, field: attr(f, 'name') ?? '', value: text(f) ?? '', row: null });
    children(child(category, 'data'), 'row').forEach((row, i) => {
      for (const f of children(row, 'field'))
        out.push({ category: name, field: attr(f, 'name') ?? '', value: text(f) ?? '', row: i });
    });
  }
  return out;
}

function event(node: XmlNode, seq: number, lsid: string): SessionEvent {
  const time = timeOf(node, lsid, `event #${seq} timestamp`);
  if (!time) throw new SessionFieldError(lsid, `event #${seq} timestamp`, 'is missing or unreadable');
  const encoded = childText(node, 'encoded_body');
  const files: SessionEvent['files'] = [];
  const filename = childText(node, 'filename');
  if (filename !== undefined) files.push({ filename, filesize: int(childText(node, 'filesize')) });
  for (const f of children(child(node, 'files'), 'file'))
    files.push({ filename: childText(f, 'filename') ?? '', filesize: int(childText(f, 'filesize')) });
  return {
    seq,
    time,
    type: attr(node, 'event_type') ?? '',
    performedBy: party(child(node, 'performed_by')),
    destination: party(child(node, 'destination')),
    body:
      encoded !== undefined
        ? Buffer.from(encoded.trim(), 'base64').toString('utf8')
        : (childText(node, 'body') ?? null),
    files,
    data: children(child(node, 'data'), 'value').map((v) => ({
      name: attr(v, 'name') ?? '',
      value: attr(v, 'value') ?? text(v) ?? '',
    })),
    systemInformation: systemInformation(child(node, 'system_information')),
  };
}

function named<T>(node: XmlNode | undefined, make: (n: XmlNode, name: string) => T): T | null {
  return node === undefined ? null : make(node, text(node) ?? '');
}

/** Maps one `<session>` element of an AccessSession/SupportSession report to a SessionRecord. */
export function mapSession(node: XmlNode, hostName: string): SessionRecord {
  const lsid = attr(node, 'lsid');
  if (!lsid) throw new SessionFieldError(undefined, 'lsid', 'attribute is missing');
  const problem = lsidProblem(lsid);
  if (problem) throw new SessionFieldError(undefined, 'lsid', `attribute ${problem}`);
  const startTime = timeOf(child(node, 'start_time'), lsid, 'start_time');
  if (!startTime) throw new SessionFieldError(lsid, 'start_time', 'is missing or unreadable');
  const publicSite = child(node, 'public_site');
  const siteName = known(text(publicSite));
  return {
    hostName,
    lsid,
    type: known(childText(node, 'session_type')) ?? 'support',
    lseq: int(childText(node, 'lseq')),
    startTime,
    endTime: timeOf(child(node, 'end_time'), lsid, 'end_time') ?? null,
    duration: known(childText(node, 'duration')),
    externalKey: nonEmpty(childText(node, 'external_key')),
    publicSiteId: int(attr(publicSite, 'id')) ?? 1,
    publicSiteName: siteName ?? 'Default',
    jumpGroup: named(child(node, 'jump_group'), (n, name) => ({
      id: int(attr(n, 'id')),
      type: known(attr(n, 'type')),
      name,
    })),
    jumpoint: named(child(node, 'jumpoint'), (n, name) => ({ id: int(attr(n, 'id')), name })),
    primaryCustomer: named(child(node, 'primary_customer'), (n, name) => ({
      gsnumber: int(attr(n, 'gsnumber')),
      name,
    })),
    primaryRep: named(child(node, 'primary_rep'), (n, name) => ({
      gsnumber: int(attr(n, 'gsnumber')),
      id: int(attr(n, 'id')),
      name,
    })),
    fileTransferCount: int(childText(node, 'file_transfer_count')) ?? 0,
    fileMoveCount: int(childText(node, 'file_move_count')) ?? 0,
    fileDeleteCount: int(childText(node, 'file_delete_count')) ?? 0,
    chatViewUrl: known(childText(node, 'session_chat_view_url')),
    chatDownloadUrl: known(childText(node, 'session_chat_download_url')),
    recordingViewUrl: known(childText(node, 'session_recording_view_url')),
    recordingDownloadUrl: known(childText(node, 'session_recording_download_url')),
    customAttributes: children(child(node, 'custom_attributes'), 'custom_attribute').map((a) => ({
      codeName: attr(a, 'code_name') ?? '',
      displayName: attr(a, 'display_name') ?? '',
      value: text(a) ?? '',
    })),
    teams: children(child(node, 'team_list'), 'team').map((t) => ({ id: int(attr(t, 'id')), name: text(t) ?? '' })),
    customers: children(child(node, 'customer_list'), 'customer').map(customer),
    representatives: children(child(node, 'rep_list'), 'representative').map(representative),
    shellRecordings: children(child(node, 'command_shell_recordings'), 'command_shell_recording').map((r) => ({
      instance: int(attr(r, 'instance')),
      downloadUrl: known(childText(r, 'download_url')),
      viewUrl: known(childText(r, 'view_url')),
    })),
    events: children(child(node, 'session_details'), 'event').map((e, i) => event(e, i, lsid)),
  };
}
