import type { Logger } from 'pino';
import type { RequestHandler } from '../appliance/appliance-link.js';
import type {
  ConsoleUser,
  Endpoint,
  GetParams,
  ListParams,
  OfferedCredential,
  Op,
  OpParams,
  OpResults,
  ReleaseParams,
  RequestContext,
  SearchParams,
} from '../protocol/ecm-protocol.js';
import type { Clock } from '../platform/clock.js';
import { ServiceError, toServiceError } from '../platform/errors.js';
import type { Component, StopReason } from '../platform/lifecycle.js';
import type { StateStore } from '../store/store-ports.js';
import type { VaultAccount, VaultPort } from '../vault/vault-port.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { CredentialService } from './credential-service.js';
import type { EndpointMatcher, MatchedTarget } from './endpoint-matcher.js';
import type { JumpSearch } from './jump-search.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { PolicyVerdict, ReleasePolicy } from './release-policy.js';
import { refusal, type MappingDecision, type UserMapper } from './user-mapper.js';

/** Longer than any directory allows (AD: 256 for a UPN); bounds the work of mapping regexes. */
const MAX_USERNAME = 512;

export interface BrokerParts {
  defaultSite: string;
  checkinOnShutdown: boolean;
  mapper: UserMapper;
  matcher: EndpointMatcher;
  policy: ReleasePolicy;
  credentials: CredentialService;
  search: JumpSearch;
  keeper: LeaseKeeper;
  vault: VaultPort;
  state: StateStore;
  clock: Clock;
  log: Logger;
  metrics: BrokerMetrics;
}

/** What `explain` (test-settings) is asked about. */
export interface ExplainInput {
  user: ConsoleUser;
  endpoint: Endpoint;
  jumpGroup?: string;
  externalKey?: string;
  /** Also check the first offered credential out, and straight back in. */
  checkout?: boolean;
}

/** Everything the broker would do for a request, step by step. Never contains a secret. */
export interface ExplainReport {
  mapping: MappingDecision;
  target?: MatchedTarget;
  /** What the vault returned for the mapped vault user and the target. */
  accounts?: VaultAccount[];
  /** Accounts dropped by the Jump Group's restrictions, and why. */
  dropped: string[];
  offered: OfferedCredential[];
  policies: PolicyVerdict[];
  checkout?: { credential: string; vaultRequestId: string; expiresAt: string; received: string[]; checkedIn: boolean };
  error?: { code: string; message: string };
}

/**
 * The credential broker: answers the four ECM operations (RequestHandler) and owns the lease
 * maintenance (Component). `handle` serves the configured site; `forSite` gives a handler
 * bound to another site name when several sites share one broker (recorded on leases and audit
 * rows). Every answer and failure is counted by op and outcome.
 */
export class Broker implements RequestHandler, Component {
  readonly name = 'broker';
  #stopping = false;

  constructor(private readonly p: BrokerParts) {}

  async start(): Promise<void> {
    await this.p.keeper.start();
    this.p.log.info({ site: this.p.defaultSite }, 'broker started');
  }

  /** On `reload` the leases stay recorded: the successor broker (same instance id) keeps them. */
  async stop(graceMs: number, reason: StopReason = 'shutdown'): Promise<void> {
    this.#stopping = true;
    await this.p.keeper.stop(this.p.checkinOnShutdown && reason === 'shutdown', graceMs);
  }

  handle<O extends Op>(
    op: O,
    context: RequestContext,
    params: OpParams[O],
    signal: AbortSignal,
  ): Promise<OpResults[O]> {
    return this.#handle(this.p.defaultSite, op, context, params, signal);
  }

  /** A `credentials.get` answer could not reach the console: check its lease in now. */
  undeliverable(leaseId: string): Promise<void> {
    return this.p.credentials.undeliverable(leaseId);
  }

  forSite(site: string): RequestHandler {
    return { handle: (op, context, params, signal) => this.#handle(site, op, context, params, signal) };
  }

  async #handle<O extends Op>(
    site: string,
    op: O,
    context: RequestContext,
    params: OpParams[O],
    signal: AbortSignal,
  ): Promise<OpResults[O]> {
    const { metrics, log } = this.p;
    const stopTimer = metrics.duration.startTimer({ op });
    try {
      if (this.#stopping)
        throw new ServiceError('service.shutting_down', 'The credential service is restarting; try again', {
          op: `broker.${op}`,
        });
      if (typeof context?.user?.username !== 'string' || context.user.username.trim() === '') {
        throw new ServiceError('request.bad', 'The request carries no console username', { op: `broker.${op}` });
      }
      if (context.user.username.length > MAX_USERNAME) {
        throw new ServiceError('request.too_large', `The console username is longer than ${MAX_USERNAME} characters`, {
          op: `broker.${op}`,
        });
      }
      const result = await this.#dispatch(site, op, context, params, signal);
      metrics.requests.inc({ op, outcome: 'ok' });
      return result;
    } catch (e) {
      const err = toServiceError(e, `broker.${op}`);
      metrics.requests.inc({ op, outcome: err.code });
      const level =
        err.kind === 'internal' ? 'error' : err.kind === 'permission' || err.kind === 'input' ? 'info' : 'warn';
      log[level](
        { op, site, user: context?.user?.username, lsid: context?.session?.lsid, code: err.code, err },
        'console request refused',
      );
      throw err;
    } finally {
      stopTimer();
    }
  }

  async #dispatch<O extends Op>(
    site: string,
    op: O,
    context: RequestContext,
    params: OpParams[O],
    signal: AbortSignal,
  ): Promise<OpResults[O]> {
    const c = this.p.credentials;
    switch (op) {
      case 'credentials.list':
        return { credentials: await c.list(context, params as ListParams, signal) } as OpResults[O];
      case 'credentials.get':
        return { credential: await c.get(site, context, params as GetParams, signal) } as OpResults[O];
      case 'credentials.release':
        return (await c.release(context, params as ReleaseParams)) as OpResults[O];
      case 'jump.search': {
        const vaultUser = this.p.mapper.resolve({ user: context.user });
        return { items: await this.p.search.search(vaultUser, params as SearchParams, signal) } as OpResults[O];
      }
      default:
        throw new ServiceError('request.bad', `Unknown operation ${JSON.stringify(op)}`, { op: 'broker.handle' });
    }
  }

  /**
   * What the broker would do for this user and endpoint: mapping trace, target, vault accounts,
   * restrictions, offered credentials and policy verdicts; with `checkout`, a real checkout of the
   * first offered credential, checked in right away. Stops at the first failing step and reports
   * its error; never throws for a refusal.
   */
  async explain(input: ExplainInput, signal: AbortSignal = new AbortController().signal): Promise<ExplainReport> {
    const context: RequestContext = {
      user: input.user,
      endpoint: input.endpoint,
      ...(input.jumpGroup && { jumpItem: { jumpGroup: { name: input.jumpGroup } } }),
      session: {
        lsid: `test-settings-${this.p.clock.now()}`,
        ...(input.externalKey && { externalKey: input.externalKey }),
      },
    };
    const mapping = this.p.mapper.decide({ user: input.user, ...(input.jumpGroup && { jumpGroup: input.jumpGroup }) });
    const report: ExplainReport = {
      mapping,
      dropped: [],
      offered: [],
      policies: this.p.policy.evaluate(context, new Date(this.p.clock.now())),
    };
    try {
      if (mapping.outcome !== 'mapped') {
        const err = refusal(mapping, input.user.username);
        return { ...report, error: { code: err.code, message: err.message } };
      }
      report.target = this.p.matcher.target(input.endpoint);
      report.accounts = await this.p.vault.listAccounts(mapping.vaultUser, report.target, signal);
      this.p.matcher.narrow(report.accounts, report.target, input.jumpGroup, (line) => report.dropped.push(line));
      report.offered = await this.p.credentials.list(context, { purpose: 'login' }, signal);
      // Offers are made regardless of policy; a release would be refused: say so.
      this.p.policy.enforce(context, new Date(this.p.clock.now()));
      const first = report.offered[0];
      if (input.checkout && first) {
        const got = await this.p.credentials.get('test-settings', context, { credentialId: first.id }, signal);
        const lease = await this.p.state.getLease(got.leaseId);
        await this.p.credentials.release(context, { leaseId: got.leaseId });
        report.checkout = {
          credential: first.displayName,
          vaultRequestId: lease?.vaultRequestId ?? '?',
          expiresAt: got.expiresAt,
          received: (['password', 'privateKey', 'passphrase'] as const).filter((k) => got[k] !== undefined),
          checkedIn: (await this.p.state.getLease(got.leaseId)) === undefined,
        };
      }
    } catch (e) {
      const err = toServiceError(e, 'broker.explain');
      report.error = { code: err.code, message: err.message };
    }
    return report;
  }
}
