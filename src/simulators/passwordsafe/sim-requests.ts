import { randomBytes } from 'node:crypto';
import type { EstateIndex, SimAccount, SimUser } from './estate-index.js';
import { field, psDate, SimHttpError } from './sim-http-error.js';

export type RequestStatus = 'pending' | 'approved' | 'released' | 'expired' | 'cancelled';

export interface SimRequest {
  id: number;
  user: SimUser;
  account: SimAccount;
  status: RequestStatus;
  createdAt: number;
  expiresAt: number;
  durationMinutes: number;
  reason: string;
  accessType: string;
  rotateOnCheckin: boolean;
  checkinReason?: string;
}

const ACCESS_TYPES = ['view', 'rdp', 'ssh', 'app'];
const live = (r: SimRequest) => r.status === 'pending' || r.status === 'approved';

/** A fresh random password, so tests can see rotation really happened. */
export function newPassword(): string {
  return `Rot-${randomBytes(12).toString('base64url')}`;
}

/**
 * Release requests: create (with reuse/renew/409 conflict handling and approval policies),
 * list, check in (rotating the password when policy says so) and credential retrieval.
 * Expiry is evaluated lazily against the injected clock.
 */
export class SimRequests {
  readonly #requests = new Map<number, SimRequest>();
  #nextId = 101;

  constructor(
    private readonly estate: EstateIndex,
    private readonly now: () => number,
  ) {}

  #refresh(r: SimRequest): SimRequest {
    if (live(r) && r.expiresAt <= this.now()) r.status = 'expired';
    return r;
  }

  /** `POST Requests` → the request id (a bare integer on the wire). */
  create(user: SimUser, body: Record<string, unknown>): number {
    const systemId = field(body, 'SystemID');
    const accountId = field(body, 'AccountID');
    if (typeof systemId !== 'number' || typeof accountId !== 'number')
      throw new SimHttpError(400, '"SystemID and AccountID are required"');
    const duration = field(body, 'DurationMinutes') ?? 120;
    if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1 || duration > 525_600) {
      throw new SimHttpError(400, '"DurationMinutes must be between 1 and 525600"');
    }
    const accessType = String(field(body, 'AccessType') ?? 'View');
    if (!ACCESS_TYPES.includes(accessType.toLowerCase())) throw new SimHttpError(400, '"Invalid AccessType"');
    const conflict = field(body, 'ConflictOption');
    if (conflict !== undefined && conflict !== null && !['reuse', 'renew'].includes(String(conflict).toLowerCase())) {
      throw new SimHttpError(400, '"Invalid ConflictOption"');
    }
    const account = this.estate.accountById.get(accountId);
    if (!account || account.system.id !== systemId) throw new SimHttpError(404, '"Managed account not found"');
    if (!this.estate.requestable(user, account))
      throw new SimHttpError(403, '"4031 - User does not have permission to request the account"');
    if (duration > account.maxReleaseMinutes) {
      throw new SimHttpError(
        400,
        `"DurationMinutes exceeds the maximum release duration (${account.maxReleaseMinutes})"`,
      );
    }
    const existing = [...this.#requests.values()].find(
      (r) => r.user.id === user.id && r.account.id === account.id && live(this.#refresh(r)),
    );
    if (existing) {
      const option = String(conflict ?? '').toLowerCase();
      if (option === 'reuse') return existing.id;
      if (option !== 'renew') throw new SimHttpError(409, '"4091 - A request for this account already exists"');
      existing.status = 'cancelled';
    }
    const id = this.#nextId++;
    this.#requests.set(id, {
      id,
      user,
      account,
      status: account.requiresApproval ? 'pending' : 'approved',
      createdAt: this.now(),
      expiresAt: this.now() + duration * 60_000,
      durationMinutes: duration,
      reason: String(field(body, 'Reason') ?? ''),
      accessType,
      rotateOnCheckin: field(body, 'RotateOnCheckin') === true,
    });
    return id;
  }

  #mine(user: SimUser, idText: string): SimRequest {
    const r = this.#requests.get(Number(idText));
    if (!r || r.user.id !== user.id) throw new SimHttpError(404, '"Request not found"');
    return this.#refresh(r);
  }

  /** `PUT Requests/{id}/checkin` → 204; rotates the password when the account or request says so. */
  checkin(user: SimUser, idText: string, body: Record<string, unknown>): void {
    const r = this.#mine(user, idText);
    if (!live(r)) throw new SimHttpError(409, '"Request is not active"');
    const wasApproved = r.status === 'approved';
    r.status = wasApproved ? 'released' : 'cancelled';
    r.checkinReason = String(field(body, 'Reason') ?? '');
    if (wasApproved && (r.account.rotateOnCheckin || r.rotateOnCheckin)) {
      r.account.password = newPassword();
      r.account.lastChange = this.now();
    }
  }

  /** `GET Credentials/{id}?type=...` → the secret (sent as a JSON string). */
  credential(user: SimUser, idText: string, type: string): string {
    const r = this.#mine(user, idText);
    if (r.status === 'pending') throw new SimHttpError(403, '"4034 - Request is not yet approved"');
    if (r.status !== 'approved') throw new SimHttpError(404, '"Request not found or no longer active"');
    switch (type.toLowerCase()) {
      case 'password':
        return r.account.password;
      case 'dsskey':
        if (!r.account.privateKey) throw new SimHttpError(404, '"The account has no DSS key"');
        return r.account.privateKey;
      case 'passphrase':
        return r.account.passphrase ?? '';
      default:
        throw new SimHttpError(400, '"type must be password, dsskey or passphrase"');
    }
  }

  /** `GET Requests?status=active|pending|all`: the user's own requests. */
  list(user: SimUser, status: string): unknown[] {
    const want = status.toLowerCase() || 'all';
    return [...this.#requests.values()]
      .filter((r) => r.user.id === user.id)
      .map((r) => this.#refresh(r))
      .filter(
        (r) =>
          want === 'all' ||
          (want === 'active' ? r.status === 'approved' : want === 'pending' ? r.status === 'pending' : false),
      )
      .map((r) => ({
        RequestID: r.id,
        SystemID: r.account.system.id,
        SystemName: r.account.system.name,
        AccountID: r.account.id,
        AccountName: r.account.name,
        DomainName: r.account.domain ?? null,
        AliasID: null,
        ApplicationID: null,
        RequestReleaseDate: psDate(r.createdAt),
        ApprovedDate: r.status === 'pending' ? null : psDate(r.createdAt),
        ExpiresDate: psDate(r.expiresAt),
        Status: r.status === 'approved' ? 'Active' : r.status[0]!.toUpperCase() + r.status.slice(1),
        AccessType: r.accessType,
      }));
  }

  /** Account ids the user requested (for `ManagedAccounts?type=recent`). */
  recentAccounts(user: SimUser): Set<number> {
    return new Set([...this.#requests.values()].filter((r) => r.user.id === user.id).map((r) => r.account.id));
  }

  /** Approves a pending request (what an approver does in the console). */
  approve(id: number): void {
    const r = this.#requests.get(id);
    if (!r || r.status !== 'pending') throw new Error(`request ${id} is not pending`);
    r.status = 'approved';
  }

  all(): SimRequest[] {
    return [...this.#requests.values()].map((r) => this.#refresh(r));
  }
}
