import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError, toServiceError } from '../platform/errors.js';
import { refusedOutcome } from './audit-states.js';
import type { InstanceFence, Lease, LeaseStore } from './lease-store-port.js';
import type { Checkout, VaultAccount, VaultPort } from '../vault/vault-port.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { ReleaseSettings } from './broker-config.js';
import type { ConsoleRequest, IssuedCredential, OfferedCredential, ReleaseOutcome } from './broker-port.js';
import {
  consoleUserKey,
  credentialKey,
  endpointKey,
  type CredentialClaims,
  type CredentialIdSigner,
} from './credential-id.js';
import type { EndpointMatcher, MatchedTarget, OfferableAccount } from './endpoint-matcher.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ReleasePolicy } from './release-policy.js';
import type { UserMapper } from './user-mapper.js';
import { leaseIdPrefix } from '../platform/lease-id-prefix.js';

/** What is known about a checkout attempt so far, for its audit row. */
interface AuditFacts {
  vaultUser: string | null;
  systemName: string | null;
  accountName: string | null;
}

/**
 * A recorded intent: its lease (with the audit row's id), the release duration asked for, and the
 * fence it was written under (the confirm carries the same: a replica fenced in between, even one
 * that rejoined since under a new epoch, cannot confirm it).
 */
interface Intent {
  lease: Lease & { auditId: number };
  durationMinutes: number;
  fence: InstanceFence | undefined;
}

export interface CredentialServiceDeps {
  release: ReleaseSettings;
  mapper: UserMapper;
  matcher: EndpointMatcher;
  policy: ReleasePolicy;
  signer: CredentialIdSigner;
  keeper: LeaseKeeper;
  vault: VaultPort;
  state: LeaseStore;
  clock: Clock;
  log: Logger;
  metrics: BrokerMetrics;
  instanceId: string;
}

/**
 * credentials.list / get / release: user mapping -> endpoint matching -> (policy) -> vault.
 * Every `get` leaves one credential_event row (checked out, denied or failed) and, when a secret
 * was released, a lease; a secret the console can no longer receive (deadline passed, lease not
 * recordable) is checked straight back in rather than left untracked in the vault.
 */
export class CredentialService {
  constructor(private readonly d: CredentialServiceDeps) {}

  /** The vault user, the normalised endpoint and the offerable accounts, in offer order. */
  async discover(
    context: ConsoleRequest,
    signal?: AbortSignal,
    why?: (line: string) => void,
  ): Promise<{ vaultUser: string; target: MatchedTarget; accounts: OfferableAccount[] }> {
    const vaultUser = this.d.mapper.resolve({ user: context.user, ...jumpGroupOf(context) });
    const target = this.#target(context);
    // What the integration guide has admins look for when Test Settings offers credentials and
    // the console does not: the vault user the bridge runs as, and the names and addresses it asks about.
    this.d.log.debug(
      { user: context.user.username, vaultUser, names: target.names, ips: target.ips },
      'credentials.list: asking the vault',
    );
    const found = await this.d.vault.listAccounts(vaultUser, target, signal);
    return {
      vaultUser,
      target,
      accounts: this.d.matcher.narrow(found, target, context.jumpItem?.jumpGroup?.name, why),
    };
  }

  async list(context: ConsoleRequest, signal?: AbortSignal): Promise<OfferedCredential[]> {
    const { vaultUser, target, accounts } = await this.discover(context, signal);
    // No account is a valid answer (the integration guide: the console then offers manual entry), not an error.
    if (accounts.length === 0)
      this.d.log.info(
        { vaultUser, target: describeTarget(target), user: context.user.username },
        'credentials.list: the vault offers this vault user no account on this endpoint',
      );
    const now = this.d.clock.now();
    const bind = { consoleUser: consoleUserKey(context.user), vaultUser, endpoint: endpointKey(target) };
    return accounts.map((a) => ({
      id: this.d.signer.issue(
        {
          ...bind,
          account: {
            systemId: a.systemId,
            systemName: a.systemName,
            accountId: a.accountId,
            accountName: a.accountName,
            domainName: a.domainName,
            kind: a.kind,
            source: a.source,
            maximumReleaseMinutes: a.maximumReleaseMinutes,
            workgroup: a.workgroup,
          },
        },
        now,
      ),
      displayName:
        a.source === 'domain-linked'
          ? `${a.domainName ? `${a.domainName}\\` : ''}${a.accountName} (domain account)`
          : `${a.accountName} (${a.systemName})`,
      username: a.accountName,
      ...(a.domainName && { domain: a.domainName }),
      kind: a.kind,
      source: a.viaAlias ? 'alias' : a.source,
    }));
  }

  /**
   * The checkout, as the steps docs/broker.md describes ("The checkout"): each step is a method
   * below with its compensation beside it, so a failure at any step leaves one audit row and no
   * released secret out of the bridge's sight.
   */
  async get(context: ConsoleRequest, credentialId: string, signal: AbortSignal): Promise<IssuedCredential> {
    const audit: AuditFacts = { vaultUser: null, systemName: null, accountName: null };
    const vaultUser = await this.#refusing(context, audit, () => this.#mapUser(context, audit));
    const target = await this.#refusing(context, audit, () => this.#target(context));
    const claims = await this.#refusing(context, audit, () =>
      this.#verifyId(context, credentialId, { vaultUser, target }, audit),
    );
    await this.#refusing(context, audit, () => this.#checkPolicy(context, claims, target));
    const intent = await this.#recordIntent(context, credentialId, claims, { ...audit, vaultUser });
    const checkout = await this.#requestRelease(context, intent, claims.account, signal);
    const answerLease = await this.#confirm(intent, checkout);
    await this.#stillWanted(context, intent, answerLease, signal);
    return this.#answer(credentialId, claims.account, intent, checkout, answerLease);
  }

  /**
   * Runs a step before the intent, when nothing exists yet to undo. Its compensation: the
   * failure becomes the checkout's one audit row (denied or failed), then is thrown.
   */
  async #refusing<T>(context: ConsoleRequest, audit: AuditFacts, step: () => T): Promise<T> {
    try {
      return step();
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      await this.#recordFailure(context.site, context, audit, err);
      throw err;
    }
  }

  /** Map user: the vault user this console user checks out as. */
  #mapUser(context: ConsoleRequest, audit: AuditFacts): string {
    audit.vaultUser = this.d.mapper.resolve({ user: context.user, ...jumpGroupOf(context) });
    return audit.vaultUser;
  }

  /** Verify id: offered to this console user, vault user and endpoint, and not expired. */
  #verifyId(
    context: ConsoleRequest,
    credentialId: string,
    { vaultUser, target }: { vaultUser: string; target: MatchedTarget },
    audit: AuditFacts,
  ): CredentialClaims {
    const claims = this.d.signer.verify(
      credentialId,
      { consoleUser: consoleUserKey(context.user), vaultUser, endpoint: endpointKey(target) },
      this.d.clock.now(),
    );
    audit.systemName = claims.account.systemName;
    audit.accountName = claims.account.accountName;
    this.d.log.debug(
      {
        user: context.user.username,
        vaultUser,
        system: claims.account.systemName,
        systemId: claims.account.systemId,
        account: claims.account.accountName,
        ...(claims.account.domainName && { domain: claims.account.domainName }),
        names: target.names,
        ips: target.ips,
      },
      'credentials.get: asking the vault for a release',
    );
    return claims;
  }

  /**
   * Policy: the Jump Group's restrictions hold at get as at list (an id offered under another
   * group, same user and endpoint, must not check out an account this group excludes), then the
   * release policies.
   */
  #checkPolicy(context: ConsoleRequest, claims: CredentialClaims, target: MatchedTarget): void {
    const dropped: string[] = [];
    const jumpGroup = context.jumpItem?.jumpGroup?.name;
    if (this.d.matcher.narrow([claims.account as VaultAccount], target, jumpGroup, (r) => dropped.push(r)).length === 0)
      throw new ServiceError(
        'credential.id_invalid',
        'this credential is not offered for this Jump Item; reopen the credential list',
        { op: 'broker.get', details: { reason: dropped[0] } },
      );
    this.d.policy.enforce(context, new Date(this.d.clock.now()));
  }

  /**
   * Intent: the audit row `requested` and a lease without a vault request, in one statement,
   * before the vault is asked, so a crash or a lost answer after `POST Requests` leaves something
   * the sweep checks in. Compensation: nothing was written; the failure becomes the audit row.
   */
  async #recordIntent(
    context: ConsoleRequest,
    credentialId: string,
    claims: CredentialClaims,
    audit: AuditFacts & { vaultUser: string },
  ): Promise<Intent> {
    const now = this.d.clock.now();
    const durationMinutes = Math.min(
      this.d.release.durationMinutes,
      claims.account.maximumReleaseMinutes ?? Number.POSITIVE_INFINITY,
    );
    const lease = {
      leaseId: randomUUID(),
      vaultRequestId: null,
      owner: this.d.instanceId,
      site: context.site,
      consoleUser: context.user.username,
      vaultUser: audit.vaultUser,
      systemId: claims.account.systemId,
      systemName: claims.account.systemName,
      accountId: claims.account.accountId,
      accountName: claims.account.accountName,
      lsid: context.session?.lsid || null,
      createdAt: new Date(now),
      expiresAt: new Date(now + durationMinutes * 60_000),
      // Single use: once this checkout is checked in, the store refuses the id (until it expires).
      credential: { key: credentialKey(credentialId), expiresAt: new Date(claims.expiresAt) },
    };
    const fence = this.d.keeper.fence;
    try {
      const auditId = await this.d.keeper.open(
        {
          ...this.#eventBase(context.site, context, audit),
          vaultRequestId: null,
          outcome: 'requested',
          errorCode: null,
          checkoutAt: null,
          checkinAt: null,
        },
        lease,
        fence,
      );
      if (auditId === undefined) throw usedError();
      return { lease: { ...lease, auditId }, durationMinutes, fence };
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      // The connection was lost: the intent may have been written (its answer lost). Ended as
      // failed now, or by the first heartbeat that reaches the store, so it does not stay
      // `requested` with a lease nobody ends until its expiry.
      if (isServiceError(err, 'store.unavailable'))
        await this.d.keeper.settleIntent({ ...lease, auditId: null }, err, false);
      await this.#recordFailure(context.site, context, audit, err);
      throw err;
    }
  }

  /**
   * Vault request: `POST Requests`, then the secret. Compensation: the intent is settled; after a
   * transient failure (Password Safe may have made the request, its answer lost) it stays for the
   * sweep to look the request up and check it in, otherwise it goes.
   */
  async #requestRelease(
    context: ConsoleRequest,
    intent: Intent,
    account: CredentialClaims['account'],
    signal: AbortSignal,
  ): Promise<Checkout> {
    const { vaultUser } = intent.lease;
    try {
      return await this.d.vault.checkout(
        {
          vaultUser,
          account,
          durationMinutes: intent.durationMinutes,
          reason: fillTemplate(this.d.release.reasonTemplate, requestFields(context, vaultUser)),
        },
        signal,
      );
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      this.d.metrics.checkouts.inc({ outcome: refusedOutcome(err.kind) });
      await this.d.keeper.settleIntent(intent.lease, err, err.retryable);
      throw err;
    }
  }

  /**
   * Confirm: the intent becomes the lease of the vault request (or joins the lease another answer
   * of the same credential id already holds: that lease is this answer's too, released once).
   * Returns the lease the answer carries. Compensation, while the lease does not know its request
   * (the confirm failed, this replica was fenced meanwhile, or the id was checked in meanwhile,
   * maybe on another replica): the request is handed back unless a lease holds it, and the intent ends.
   */
  async #confirm(intent: Intent, checkout: Checkout): Promise<string> {
    const { lease } = intent;
    let confirmation;
    try {
      confirmation = await this.d.state.confirmLease(
        lease.leaseId,
        checkout.requestId,
        checkout.expiresAt,
        new Date(this.d.clock.now()),
        intent.fence,
      );
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      this.d.metrics.checkouts.inc({ outcome: 'failed' });
      if (isServiceError(err, 'store.fenced'))
        // Frozen past staleAfterSeconds between the intent and here: another replica fenced this
        // one and recovered the intent (checked the request in, or dropped it). No credential
        // goes out without a lease: the request is handed back, the console told to ask again.
        this.d.log.error(
          { leaseId: leaseIdPrefix(lease.leaseId), vaultRequestId: checkout.requestId },
          'this replica was fenced by another while a checkout was under way; the vault request is handed back',
        );
      await this.#handBack(intent, checkout, err);
      throw err;
    }
    if (confirmation.outcome === 'spent') {
      const err = usedError();
      this.d.metrics.checkouts.inc({ outcome: 'denied' });
      await this.#handBack(intent, checkout, err);
      throw err;
    }
    if (confirmation.outcome === 'joined') {
      this.d.metrics.activeLeases.dec();
      return confirmation.leaseId;
    }
    this.d.keeper.remember({ ...lease, vaultRequestId: checkout.requestId, expiresAt: checkout.expiresAt });
    return lease.leaseId;
  }

  /**
   * The confirm's compensation: the request goes back to the vault, then the intent ends; if the
   * hand-back failed (the store or the vault is unreachable) the intent stays, due for a sweep that
   * looks the request up and checks it in.
   */
  async #handBack(intent: Intent, checkout: Checkout, err: ServiceError): Promise<void> {
    const handedBack = await this.d.keeper.abandon(intent.lease.vaultUser, checkout.requestId);
    await this.d.keeper.settleIntent(intent.lease, err, !handedBack, checkout.requestId);
  }

  /**
   * Before the answer: the request may have been cancelled while the lease was written, and the
   * caller will drop the answer, so nobody would ever release this lease. Compensation: the lease
   * is checked in now (unless it is a joined one, which carries another answer too and stays for
   * that console's release) and the audit row says failed.
   */
  async #stillWanted(context: ConsoleRequest, intent: Intent, answerLease: string, signal: AbortSignal): Promise<void> {
    if (!signal.aborted) return;
    const err = abortError(signal);
    const { state, keeper, clock, log } = this.d;
    this.d.metrics.checkouts.inc({ outcome: 'failed' });
    if (answerLease === intent.lease.leaseId)
      await keeper
        .release(answerLease, context.user.username, false)
        .catch((re: unknown) =>
          log.error(
            { err: re, leaseId: answerLease },
            'could not check in an undelivered lease; the sweeper or the vault expiry will end it',
          ),
        );
    await state
      .updateCredentialEvent(intent.lease.auditId, {
        outcome: 'failed',
        errorCode: err.code,
        checkinAt: new Date(clock.now()),
      })
      .catch((ue: unknown) =>
        log.error({ err: ue, auditId: intent.lease.auditId }, 'could not record a credential event'),
      );
    throw err;
  }

  /** Answer: the credential for the console, its secrets still wrapped, carrying the answer's lease. */
  #answer(
    credentialId: string,
    account: CredentialClaims['account'],
    intent: Intent,
    checkout: Checkout,
    answerLease: string,
  ): IssuedCredential {
    this.d.metrics.checkouts.inc({ outcome: 'checked_out' });
    this.d.log.info(
      {
        leaseId: answerLease,
        vaultRequestId: checkout.requestId,
        vaultUser: intent.lease.vaultUser,
        system: account.systemName,
        account: account.accountName,
        durationMinutes: checkout.durationMinutes,
        lsid: intent.lease.lsid ?? undefined,
      },
      'credential checked out',
    );
    return {
      id: credentialId,
      username: account.accountName,
      ...(account.domainName && { domain: account.domainName }),
      ...(checkout.password && { password: checkout.password }),
      ...(checkout.privateKey && { privateKey: checkout.privateKey }),
      ...(checkout.passphrase && { passphrase: checkout.passphrase }),
      leaseId: answerLease,
      expiresAt: checkout.expiresAt,
    };
  }

  /**
   * The event "answer not delivered" for an answer of `get`: checks in the lease the answer
   * carries (the checkout this broker made) and marks its audit row failed. Idempotent (a lease
   * already gone is fine) and never throws: a failed check-in leaves the lease to the sweeper.
   */
  async undelivered(answer: IssuedCredential): Promise<void> {
    const { state, keeper, log, clock } = this.d;
    const { leaseId } = answer;
    try {
      const lease = await state.getLease(leaseId);
      if (!lease) return;
      if (lease.joinedAnswers !== undefined) {
        // Another answer carries this lease too, and may have been delivered: it stays for that
        // console's release (or the lease's expiry).
        log.warn(
          { leaseId: leaseIdPrefix(leaseId) },
          'an answer sharing a lease could not be delivered; the lease stays for the other',
        );
        return;
      }
      // Not spent: the console never received the credential, so it may ask again with the same id.
      await keeper.release(leaseId, lease.consoleUser, false);
      if (lease.auditId !== null) {
        await state.updateCredentialEvent(lease.auditId, {
          outcome: 'failed',
          errorCode: 'channel.closed',
          checkinAt: new Date(clock.now()),
        });
      }
      log.warn(
        { leaseId, vaultRequestId: lease.vaultRequestId },
        'credential could not be delivered to the console; checked in',
      );
    } catch (e) {
      log.error(
        { leaseId, err: e },
        'could not check in an undelivered lease; the sweeper or the vault expiry will end it',
      );
    }
  }

  async release(context: ConsoleRequest, ref: { leaseId?: string; credentialId?: string }): Promise<ReleaseOutcome> {
    if (ref.leaseId) return this.d.keeper.release(ref.leaseId, context.user.username);
    if (!ref.credentialId)
      throw new ServiceError('request.bad', 'credentials.release needs "leaseId" or "credentialId"', {
        op: 'broker.release',
      });
    const lsid = context.session?.lsid;
    if (!lsid)
      throw new ServiceError('request.bad', 'credentials.release by "credentialId" needs the session (lsid)', {
        op: 'broker.release',
      });
    // Expired ids are still good enough to find the session's lease: only the signature and binding matter here.
    const vaultUser = this.d.mapper.resolve({ user: context.user, ...jumpGroupOf(context) });
    const claims = this.d.signer.verify(
      ref.credentialId,
      { consoleUser: consoleUserKey(context.user), vaultUser, endpoint: endpointKey(this.#target(context)) },
      Number.NEGATIVE_INFINITY,
    );
    // The session's leases still recorded: one the bridge is checking in meanwhile is said so.
    let outcome: ReleaseOutcome = {};
    for (const lease of await this.d.keeper.findForSession(lsid, claims.account.accountId, context.user.username)) {
      const one = await this.d.keeper.release(lease.leaseId, context.user.username);
      if (one.alreadyCheckedIn) outcome = one;
    }
    return outcome;
  }

  #target(context: ConsoleRequest): MatchedTarget {
    if (!context.endpoint)
      throw new ServiceError('request.bad', 'This request needs an endpoint', { op: 'broker.match' });
    const target = this.d.matcher.target(context.endpoint);
    if (target.names.length === 0 && target.ips.length === 0) {
      throw new ServiceError('request.bad', 'The endpoint has no usable hostname, FQDN or IP address', {
        op: 'broker.match',
      });
    }
    return target;
  }

  #eventBase(site: string, context: ConsoleRequest, audit: AuditFacts) {
    return {
      site,
      lsid: context.session?.lsid || null,
      jumpItemId: context.jumpItem?.id ?? null,
      jumpItemName: context.jumpItem?.name ?? null,
      consoleUser: context.user.username,
      vaultUser: audit.vaultUser,
      systemName: audit.systemName,
      accountName: audit.accountName,
    };
  }

  async #recordFailure(
    site: string,
    context: ConsoleRequest,
    audit: AuditFacts,
    err: ServiceError,
    vaultRequestId: string | null = null,
  ): Promise<void> {
    const outcome = refusedOutcome(err.kind);
    this.d.metrics.checkouts.inc({ outcome });
    await this.d.state
      .recordCredentialEvent({
        ...this.#eventBase(site, context, audit),
        vaultRequestId,
        outcome,
        errorCode: err.code,
        checkoutAt: null,
        // A checkout that could not be recorded was handed straight back (see abandon).
        checkinAt: vaultRequestId === null ? null : new Date(this.d.clock.now()),
      })
      .catch((e: unknown) => this.d.log.error({ err: e }, 'could not record a credential event'));
  }
}

function usedError(): ServiceError {
  return new ServiceError(
    'credential.id_used',
    'This credential id was already used and its checkout checked in; reopen the credential list',
    { op: 'broker.get' },
  );
}

/** The abort reason when it is a service error, otherwise a timeout that carries it as cause. */
function abortError(signal: AbortSignal): ServiceError {
  const reason: unknown = signal.reason;
  if (reason instanceof ServiceError) return reason;
  return new ServiceError('service.timeout', 'The request deadline passed before the credential could be delivered', {
    op: 'broker.get',
    ...(reason === undefined ? {} : { cause: reason }),
  });
}

function jumpGroupOf(context: ConsoleRequest): { jumpGroup?: string } {
  const g = context.jumpItem?.jumpGroup?.name;
  return g ? { jumpGroup: g } : {};
}

function describeTarget(target: MatchedTarget): string {
  return `endpoint ${[...target.names, ...target.ips].slice(0, 3).join(' / ')}`;
}

/** Placeholders of `vault.reasonTemplate`, from the console request. */
function requestFields(c: ConsoleRequest, vaultUser: string): Record<string, string> {
  return {
    user: c.user.username,
    vaultUser,
    lsid: c.session?.lsid || '-',
    ticket: c.session?.externalKey || '-',
    endpoint: c.endpoint?.fqdn || c.endpoint?.hostname || c.endpoint?.ip || '-',
    jumpItem: c.jumpItem?.name || '-',
  };
}

/** Fills a vault reason/check-in template; unknown placeholders stay visible. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => values[k] ?? whole);
}
