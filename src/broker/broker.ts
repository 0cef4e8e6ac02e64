import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { ServiceError, toServiceError } from '../platform/errors.js';
import type { Component, StopReason } from '../platform/lifecycle.js';
import type { VaultAccount, VaultPort } from '../vault/vault-port.js';
import type { BrokerMetrics, BrokerOp } from './broker-metrics.js';
import type {
  ConsoleRequest,
  ConsoleUser,
  CredentialBroker,
  Endpoint,
  IssuedCredential,
  JumpTarget,
  OfferedCredential,
  ReleaseOutcome,
} from './broker-port.js';
import type { CredentialService } from './credential-service.js';
import type { EndpointMatcher, MatchedTarget } from './endpoint-matcher.js';
import type { JumpSearch } from './jump-search.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { LeaseStore } from './lease-store-port.js';
import type { PolicyVerdict, ReleasePolicy } from './release-policy.js';
import { refusal, type MappingDecision, type UserMapper } from './user-mapper.js';

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
  state: LeaseStore;
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
 * The credential broker: answers console requests (CredentialBroker) and owns the lease
 * maintenance (Component). Every answer and failure is counted by op and outcome; refusals are
 * logged once here, with the request's identifiers and never a secret.
 */
export class Broker implements CredentialBroker, Component {
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

  list(request: ConsoleRequest, _purpose: 'login' | 'run-as', signal: AbortSignal): Promise<OfferedCredential[]> {
    return this.#serve('credentials.list', request, () => this.p.credentials.list(request, signal));
  }

  get(request: ConsoleRequest, credentialId: string, signal: AbortSignal): Promise<IssuedCredential> {
    return this.#serve('credentials.get', request, () => this.p.credentials.get(request, credentialId, signal));
  }

  release(request: ConsoleRequest, ref: { leaseId?: string; credentialId?: string }): Promise<ReleaseOutcome> {
    return this.#serve('credentials.release', request, () => this.p.credentials.release(request, ref));
  }

  search(
    request: ConsoleRequest,
    query: string,
    limit: number | undefined,
    signal: AbortSignal,
  ): Promise<JumpTarget[]> {
    return this.#serve('jump.search', request, () => {
      const vaultUser = this.p.mapper.resolve({ user: request.user });
      return this.p.search.search(vaultUser, query, limit, signal);
    });
  }

  /** A `credentials.get` answer could not reach the console: check its lease in now. */
  undelivered(answer: IssuedCredential): Promise<void> {
    return this.p.credentials.undelivered(answer);
  }

  async #serve<T>(op: BrokerOp, request: ConsoleRequest, work: () => Promise<T>): Promise<T> {
    const { metrics, log } = this.p;
    const stopTimer = metrics.duration.startTimer({ op });
    try {
      if (this.#stopping)
        throw new ServiceError('service.shutting_down', 'The credential service is restarting; try again', {
          op: `broker.${op}`,
        });
      const result = await work();
      metrics.requests.inc({ op, outcome: 'ok' });
      return result;
    } catch (e) {
      const err = toServiceError(e, `broker.${op}`);
      metrics.requests.inc({ op, outcome: err.code });
      const level = err.kind === 'internal' ? 'error' : expectedRefusal(err) ? 'info' : 'warn';
      // An expected refusal (mapping, policy, bad input, the vault refusing one mapped user) is a
      // decision, not a fault: no stack trace.
      const hint = err.details?.hint;
      const what = level === 'info' ? { reason: err.message, ...(typeof hint === 'string' && { hint }) } : { err };
      log[level](
        { op, site: request.site, user: request.user.username, lsid: request.session?.lsid, code: err.code, ...what },
        'console request refused',
      );
      throw err;
    } finally {
      stopTimer();
    }
  }

  /**
   * What the broker would do for this user and endpoint: mapping trace, target, vault accounts,
   * restrictions, offered credentials and policy verdicts; with `checkout`, a real checkout of the
   * first offered credential, checked in right away. Stops at the first failing step and reports
   * its error; never throws for a refusal.
   */
  async explain(input: ExplainInput, signal: AbortSignal = new AbortController().signal): Promise<ExplainReport> {
    const context: ConsoleRequest = {
      site: this.p.defaultSite,
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
      report.offered = await this.p.credentials.list(context, signal);
      // Offers are made regardless of policy; a release would be refused: say so.
      this.p.policy.enforce(context, new Date(this.p.clock.now()));
      const first = report.offered[0];
      if (input.checkout && first) {
        const got = await this.p.credentials.get({ ...context, site: 'test-settings' }, first.id, signal);
        const lease = await this.p.state.getLease(got.leaseId);
        await this.p.credentials.release(context, { leaseId: got.leaseId });
        report.checkout = {
          credential: first.displayName,
          vaultRequestId: lease?.vaultRequestId ?? '?',
          expiresAt: got.expiresAt.toISOString(),
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

/**
 * Refusals that are answers, not faults. The vault refusing sign-in *as one mapped user* is one:
 * that user is unknown to Password Safe or outside the registration's groups (a broken
 * registration or key fails every user, and `check` and the vault readiness say so).
 */
function expectedRefusal(err: ServiceError): boolean {
  if (err.kind === 'permission' || err.kind === 'input') return true;
  return err.code === 'vault.auth_failed' && typeof err.details?.vaultUser === 'string';
}
