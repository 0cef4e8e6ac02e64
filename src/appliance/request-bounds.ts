import { ServiceError } from '../platform/errors.js';

/**
 * Types and sizes of every field of a console request, checked once at the ECM edge before any
 * handler, log line or regular expression sees it. A frame may be 1 MiB; no field needs to be:
 * bounding each one keeps every later step (name normalisation, log scrubbing, user-mapping
 * regexes, the audit row) cheap and its storage certain. Limits are generous for real values
 * (directory names, DNS names, IPv6 with zone and port, appliance session ids).
 */
type Shape = { [key: string]: Shape | Leaf };
interface Leaf {
  kind: 'string' | 'number';
  max?: number;
  /** What a string must look like, said in words for the message. */
  pattern?: [RegExp, string];
}

const str = (max: number, pattern?: [RegExp, string]): Leaf => ({ kind: 'string', max, ...(pattern && { pattern }) });
const num: Leaf = { kind: 'number' };

/** Appliance session ids (lsid): short tokens; the audit column holds 64 characters. */
export const LSID_MAX = 64;
const LSID: [RegExp, string] = [/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only'];

const CONTEXT: Shape = {
  user: {
    id: num,
    username: str(256),
    displayName: str(256),
    email: str(320),
    securityProvider: { id: num, name: str(256), kind: str(64) },
  },
  endpoint: { hostname: str(260), fqdn: str(260), ip: str(64), publicIp: str(64), os: str(256) },
  jumpItem: {
    id: num,
    name: str(256),
    type: str(32),
    networkId: str(256),
    jumpGroup: { id: num, name: str(256), type: str(32) },
  },
  session: { lsid: str(LSID_MAX, LSID), externalKey: str(256) },
};

const PARAMS: Shape = {
  purpose: str(16),
  credentialId: str(4096),
  leaseId: str(128),
  query: str(1024),
  limit: num,
};

/** The first problem of the request's context and params, as the error to answer; undefined when fine. */
export function requestBoundsProblem(frame: Record<string, unknown>): ServiceError | undefined {
  return check(frame.context, CONTEXT, 'request.context') ?? check(frame.params ?? {}, PARAMS, 'request.params');
}

function check(value: unknown, shape: Shape, path: string): ServiceError | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad(`${path} must be an object`);
  for (const [key, rule] of Object.entries(shape)) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    const at = `${path}.${key}`;
    const problem = isLeaf(rule) ? checkLeaf(v, rule, at) : check(v, rule, at);
    if (problem) return problem;
  }
  return undefined;
}

function checkLeaf(v: unknown, rule: Leaf, at: string): ServiceError | undefined {
  if (rule.kind === 'number')
    return typeof v === 'number' && Number.isFinite(v) ? undefined : bad(`${at} must be a number`);
  if (typeof v !== 'string') return bad(`${at} must be a string`);
  if (rule.max !== undefined && v.length > rule.max)
    return new ServiceError('request.too_large', `${at} is longer than ${rule.max} characters`, {
      op: 'ecm.request',
      details: { field: at, length: v.length, max: rule.max },
    });
  if (rule.pattern && v !== '' && !rule.pattern[0].test(v)) return bad(`${at} must contain ${rule.pattern[1]}`);
  return undefined;
}

function isLeaf(rule: Shape | Leaf): rule is Leaf {
  return (rule as Leaf).kind === 'string' || (rule as Leaf).kind === 'number';
}

function bad(message: string): ServiceError {
  return new ServiceError('request.bad', message, { op: 'ecm.request' });
}

/** A request's `op` for a message, whatever it is: never calls the value's own methods. */
export function describeOp(op: unknown): string {
  return typeof op === 'string'
    ? JSON.stringify(op.slice(0, 64))
    : `of type ${Array.isArray(op) ? 'array' : typeof op}`;
}
