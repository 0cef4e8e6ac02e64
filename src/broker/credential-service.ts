import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { isServiceError, ServiceError, toServiceError } from '../platform/errors.js';
import type { CredentialOutcome, LeaseStore } from './lease-store-port.js';
import type { VaultAccount, VaultPort } from '../vault/vault-port.js';
import type { BrokerMetrics } from './broker-metrics.js';
import type { ReleaseSettings } from './broker-config.js';
import type { ConsoleRequest, IssuedCredential, OfferedCredential, ReleaseOutcome } from './broker-port.js';
import { consoleUserKey, credentialKey, endpointKey, type CredentialIdSigner } from './credential-id.js';
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

  async get(context: ConsoleRequest, credentialId: string, signal: AbortSignal): Promise<IssuedCredential> {
    const { state, clock, vault, log } = this.d;
    const site = context.site;
    const audit: AuditFacts = { vaultUser: null, systemName: null, accountName: null };
    let claims;
    try {
      audit.vaultUser = this.d.mapper.resolve({ user: context.user, ...jumpGroupOf(context) });
      const target = this.#target(context);
      claims = this.d.signer.verify(
        credentialId,
        { consoleUser: consoleUserKey(context.user), vaultUser: audit.vaultUser, endpoint: endpointKey(target) },
        clock.now(),
      );
      audit.systemName = claims.account.systemName;
      audit.accountName = claims.account.accountName;
      log.debug(
        {
          user: context.user.username,
          vaultUser: audit.vaultUser,
          system: claims.account.systemName,
          systemId: claims.account.systemId,
          account: claims.account.accountName,
          ...(claims.account.domainName && { domain: claims.account.domainName }),
          names: target.names,
          ips: target.ips,
        },
        'credentials.get: asking the vault for a release',
      );
      // The Jump Group's restrictions hold at get as at list: an id offered under another group
      // (same user and endpoint) must not check out an account this group excludes.
      const dropped: string[] = [];
      const jumpGroup = context.jumpItem?.jumpGroup?.name;
      if (
        this.d.matcher.narrow([claims.account as VaultAccount], target, jumpGroup, (r) => dropped.push(r)).length === 0
      )
        throw new ServiceError(
          'credential.id_invalid',
          'this credential is not offered for this Jump Item; reopen the credential list',
          { op: 'broker.get', details: { reason: dropped[0] } },
        );
      this.d.policy.enforce(context, new Date(clock.now()));
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      await this.#recordFailure(site, context, audit, err);
      throw err;
    }
    const duration = Math.min(
      this.d.release.durationMinutes,
      claims.account.maximumReleaseMinutes ?? Number.POSITIVE_INFINITY,
    );
    const leaseId = randomUUID();
    const now = clock.now();
    // The intent first (one statement: audit row `requested` and a lease without a vault request),
    // so a crash or a lost answer after `POST Requests` leaves something the sweep checks in.
    const intent = {
      leaseId,
      vaultRequestId: null,
      owner: this.d.instanceId,
      site,
      consoleUser: context.user.username,
      vaultUser: audit.vaultUser,
      systemId: claims.account.systemId,
      systemName: claims.account.systemName,
      accountId: claims.account.accountId,
      accountName: claims.account.accountName,
      lsid: context.session?.lsid || null,
      createdAt: new Date(now),
      expiresAt: new Date(now + duration * 60_000),
      // Single use: once this checkout is checked in, the store refuses the id (until it expires).
      credential: { key: credentialKey(credentialId), expiresAt: new Date(claims.expiresAt) },
    };
    let auditId: number;
    try {
      const opened = await this.d.keeper.open(
        {
          ...this.#eventBase(site, context, audit),
          vaultRequestId: null,
          outcome: 'requested',
          errorCode: null,
          checkoutAt: null,
          checkinAt: null,
        },
        intent,
      );
      if (opened === undefined) throw usedError();
      auditId = opened;
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      // The connection was lost: the intent may have been written (its answer lost). Ended as
      // failed now, or by the first heartbeat that reaches the store, so it does not stay
      // `requested` with a lease nobody ends until its expiry.
      if (isServiceError(err, 'store.unavailable'))
        await this.d.keeper.settleIntent({ ...intent, auditId: null }, err, false);
      await this.#recordFailure(site, context, audit, err);
      throw err;
    }
    let checkout;
    try {
      checkout = await vault.checkout(
        {
          vaultUser: audit.vaultUser,
          account: claims.account,
          durationMinutes: duration,
          reason: fillTemplate(this.d.release.reasonTemplate, requestFields(context, audit.vaultUser)),
        },
        signal,
      );
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      this.d.metrics.checkouts.inc({ outcome: err.kind === 'permission' ? 'denied' : 'failed' });
      // A transient failure may have come after Password Safe made the request (a lost answer):
      // the sweep looks for it and checks it in. Otherwise nothing was made and the intent goes.
      await this.d.keeper.settleIntent({ ...intent, auditId }, err, err.retryable);
      throw err;
    }
    let confirmed = false;
    let answerLease: string = leaseId;
    try {
      const confirmation = await state.confirmLease(
        leaseId,
        checkout.requestId,
        checkout.expiresAt,
        new Date(clock.now()),
      );
      if (confirmation.outcome === 'spent') {
        // Checked in meanwhile (another request, maybe on another replica): this checkout must
        // not outlive it. Hand the request back unless a lease holds it, and refuse.
        const err = usedError();
        this.d.metrics.checkouts.inc({ outcome: 'denied' });
        await this.d.keeper.abandon(audit.vaultUser, checkout.requestId);
        await this.d.keeper.settleIntent({ ...intent, auditId }, err, false, checkout.requestId);
        throw err;
      }
      confirmed = true;
      if (confirmation.outcome === 'joined') {
        // The same credential id got this vault request for another answer (a repeated request
        // id, concurrent gets): that lease is this answer's too; the console releases it once.
        answerLease = confirmation.leaseId;
        this.d.metrics.activeLeases.dec();
      } else
        this.d.keeper.remember({
          ...intent,
          auditId,
          vaultRequestId: checkout.requestId,
          expiresAt: checkout.expiresAt,
        });
      // The request may have been cancelled while the lease was written: the caller will drop
      // the answer, so nobody would ever release this lease.
      if (signal.aborted) throw abortError(signal);
    } catch (e) {
      const err = toServiceError(e, 'broker.get');
      if (err.code === 'credential.id_used') throw err;
      // Nobody will ever release this checkout: give it back now, and say so in the audit trail.
      this.d.metrics.checkouts.inc({ outcome: 'failed' });
      if (!confirmed) {
        // The lease does not know its request: hand the request back directly, then end the
        // intent; if that failed (the store or the vault is unreachable) the intent stays, due
        // for a sweep that looks the request up and checks it in.
        const handedBack = await this.d.keeper.abandon(audit.vaultUser, checkout.requestId);
        await this.d.keeper.settleIntent({ ...intent, auditId }, err, !handedBack, checkout.requestId);
      } else {
        // A joined lease carries another answer too: it stays for that console's release.
        if (answerLease === leaseId)
          await this.d.keeper
            .release(leaseId, context.user.username, false)
            .catch((re: unknown) =>
              log.error(
                { err: re, leaseId },
                'could not check in an undelivered lease; the sweeper or the vault expiry will end it',
              ),
            );
        await state
          .updateCredentialEvent(auditId, { outcome: 'failed', errorCode: err.code, checkinAt: new Date(clock.now()) })
          .catch((ue: unknown) => log.error({ err: ue, auditId }, 'could not record a credential event'));
      }
      throw err;
    }
    this.d.metrics.checkouts.inc({ outcome: 'checked_out' });
    log.info(
      {
        leaseId: answerLease,
        vaultRequestId: checkout.requestId,
        vaultUser: audit.vaultUser,
        system: audit.systemName,
        account: audit.accountName,
        durationMinutes: checkout.durationMinutes,
        lsid: context.session?.lsid,
      },
      'credential checked out',
    );
    return {
      id: credentialId,
      username: claims.account.accountName,
      ...(claims.account.domainName && { domain: claims.account.domainName }),
      ...(checkout.password && { password: checkout.password }),
      ...(checkout.privateKey && { privateKey: checkout.privateKey }),
      ...(checkout.passphrase && { passphrase: checkout.passphrase }),
      leaseId: answerLease,
      expiresAt: checkout.expiresAt,
    };
  }

  /**
   * Checks in the lease of a `credentials.get` answer that could not be delivered to the console
   * (the channel closed or the send failed), and marks its audit row failed. Idempotent (a lease
   * already gone is fine) and never throws: a failed check-in leaves the lease to the sweeper.
   */
  async undeliverable(leaseId: string): Promise<void> {
    const { state, keeper, log, clock } = this.d;
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
    const outcome: CredentialOutcome = err.kind === 'permission' ? 'denied' : 'failed';
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
