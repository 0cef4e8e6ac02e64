/**
 * The one place where the ECM wire meets the broker: validates each request's context and params
 * (bounded, typed; src/protocol/ecm-schemas.ts), converts them to the broker's vocabulary, and
 * converts the answer back, revealing a secret only while building the answer that is about to
 * be serialised onto the channel.
 */
import type { z } from 'zod';
import type { ConsoleRequest, CredentialBroker, IssuedCredential, ReleaseOutcome } from '../broker/broker-port.js';
import { ServiceError } from '../platform/errors.js';
import type {
  InjectedCredential,
  Op,
  OpParams,
  OpResults,
  ReleaseResult,
  RequestContext,
} from '../protocol/ecm-protocol.js';
import {
  describeProblem,
  OP_PARAMS,
  requestContextSchema,
  type ValidContext,
  type ValidParams,
} from '../protocol/ecm-schemas.js';
import type { RequestHandler } from './channel/appliance-link.js';

type Call<O extends Op> = (
  broker: CredentialBroker,
  request: ConsoleRequest,
  params: ValidParams[O],
  signal: AbortSignal,
) => Promise<OpResults[O]>;

/**
 * The broker's answer behind each `credentials.get` wire answer still in flight (held weakly: a
 * delivered answer is forgotten with its frame), so an undelivered one goes back to the broker
 * in its own terms.
 */
const issuedBehind = new WeakMap<object, IssuedCredential>();

const CALLS: { [O in Op]: Call<O> } = {
  'credentials.list': async (b, r, p, s) => ({ credentials: await b.list(r, p.purpose, s) }),
  'credentials.get': async (b, r, p, s) => {
    const issued = await b.get(r, p.credentialId, s);
    const answer = { credential: toWire(issued) };
    // Kept without its secrets: the broker needs only the checkout it made.
    const { password: _p, privateKey: _k, passphrase: _s, ...checkout } = issued;
    issuedBehind.set(answer, checkout);
    return answer;
  },
  'credentials.release': async (b, r, p) => toReleaseResult(await b.release(r, p)),
  'jump.search': async (b, r, p, s) => ({ items: await b.search(r, p.query, p.limit, s) }),
};

/**
 * A RequestHandler for one site that forwards each request to whichever broker is current when it
 * arrives. Channels hold this instead of the broker itself, so a configuration reload that
 * replaces the broker leaves every channel (and its seniority in the ECM group) untouched; while
 * no broker runs, requests fail with a retryable `service.shutting_down`.
 */
export function brokerHandler(current: () => CredentialBroker | undefined, site: string): RequestHandler {
  return {
    async handle<O extends Op>(op: O, context: RequestContext, params: OpParams[O], signal: AbortSignal) {
      const broker = current();
      if (!broker)
        throw new ServiceError('service.shutting_down', 'the credential service is restarting; retry in a moment', {
          op: `ecm.${op}`,
        });
      const request = toConsoleRequest(site, parseOrRefuse(requestContextSchema, context, 'request.context', op));
      const valid = parseOrRefuse(OP_PARAMS[op], params ?? {}, 'request.params', op);
      return (CALLS[op] as Call<O>)(broker, request, valid, signal);
    },
    async undelivered(_op, answer) {
      const issued = issuedBehind.get(answer);
      if (issued) await current()?.undelivered(issued);
    },
  };
}

function parseOrRefuse<S extends z.ZodType>(schema: S, value: unknown, where: string, op: Op): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problem = describeProblem(where, parsed.error);
  const tooLong = parsed.error.issues.some((i) => i.code === 'too_big');
  throw new ServiceError(tooLong ? 'request.too_large' : 'request.bad', problem, { op: `ecm.${op}` });
}

function toConsoleRequest(site: string, c: ValidContext): ConsoleRequest {
  return {
    site,
    user: c.user,
    ...(c.endpoint && { endpoint: c.endpoint }),
    ...(c.jumpItem && { jumpItem: c.jumpItem }),
    ...(c.session && { session: c.session }),
  };
}

function toReleaseResult({ alreadyCheckedIn: earlier }: ReleaseOutcome): ReleaseResult {
  if (!earlier) return { released: true };
  return {
    released: true,
    alreadyCheckedIn: { reason: earlier.reason, ...(earlier.at && { at: earlier.at.toISOString() }) },
  };
}

function toWire(c: IssuedCredential): InjectedCredential {
  return {
    id: c.id,
    username: c.username,
    ...(c.domain && { domain: c.domain }),
    ...(c.password && { password: c.password.reveal() }),
    ...(c.privateKey && { privateKey: c.privateKey.reveal() }),
    ...(c.passphrase && { passphrase: c.passphrase.reveal() }),
    leaseId: c.leaseId,
    expiresAt: c.expiresAt.toISOString(),
  };
}
