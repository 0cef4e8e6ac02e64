import { randomBytes } from 'node:crypto';
import type { EstateIndex, SimUser } from './estate-index.js';
import { SimHttpError } from './sim-http-error.js';

export const SESSION_COOKIE = 'ASP.NET_SessionId';

export interface SimSession {
  id: string;
  user: SimUser;
  lastUsed: number;
}

interface PsAuth {
  key?: string;
  runas?: string;
  pwd?: string;
}

/**
 * Parses `PS-Auth key=...; runas=...; pwd=[...];` as leniently as Password Safe: any spacing,
 * optional trailing `;`, case-insensitive names, a password that may itself contain `;`.
 */
export function parsePsAuth(header: string): PsAuth | undefined {
  const m = /^\s*PS-Auth\s+(.*)$/is.exec(header);
  if (!m?.[1]) return undefined;
  const rest = m[1];
  const pwd = /\bpwd\s*=\s*\[(.*)\]/is.exec(rest);
  const withoutPwd = pwd ? rest.replace(pwd[0], '') : rest;
  const key = /\bkey\s*=\s*([^;\s]+)/i.exec(withoutPwd)?.[1];
  const runas = /\brunas\s*=\s*([^;]*?)\s*(?:;|$)/i.exec(withoutPwd)?.[1];
  return { ...(key ? { key } : {}), ...(runas ? { runas } : {}), ...(pwd ? { pwd: pwd[1] } : {}) };
}

function readCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return undefined;
}

/**
 * Sign-in, OAuth tokens and cookie sessions with idle expiry. Counts sign-ins and sign-outs per
 * user so tests can prove the adapter pools sessions and signs out on shutdown.
 */
export class SimSessions {
  readonly #sessions = new Map<string, SimSession>();
  readonly #tokens = new Map<string, { registration: string; user: string; expiresAt: number }>();
  readonly signIns = new Map<string, number>();
  readonly signOuts = new Map<string, number>();

  constructor(
    private readonly estate: EstateIndex,
    private readonly now: () => number,
    private readonly idleMs: number,
  ) {}

  /** `POST Auth/connect/token` (client credentials). */
  issueToken(form: URLSearchParams): { access_token: string; expires_in: number; token_type: 'Bearer'; scope: string } {
    if (form.get('grant_type') !== 'client_credentials')
      throw new SimHttpError(400, '{"error":"unsupported_grant_type"}');
    const reg = this.estate.registrations.find(
      (r) => r.kind === 'oauth' && r.clientId === form.get('client_id') && r.clientSecret === form.get('client_secret'),
    );
    if (!reg || reg.kind !== 'oauth') throw new SimHttpError(400, '{"error":"invalid_client"}');
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, {
      registration: reg.name,
      user: reg.user,
      expiresAt: this.now() + reg.tokenLifetimeSeconds * 1000,
    });
    return { access_token: token, expires_in: reg.tokenLifetimeSeconds, token_type: 'Bearer', scope: 'publicapi' };
  }

  /** `POST Auth/SignAppin`: returns the new session and the user document. */
  signIn(authorization: string | undefined, remote: string): SimSession {
    const user = this.#authenticate(authorization ?? '', remote);
    const session: SimSession = { id: randomBytes(18).toString('hex'), user, lastUsed: this.now() };
    this.#sessions.set(session.id, session);
    this.signIns.set(user.name, (this.signIns.get(user.name) ?? 0) + 1);
    return session;
  }

  #authenticate(authorization: string, remote: string): SimUser {
    const bearer = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (bearer) {
      const t = this.#tokens.get(bearer);
      if (!t || t.expiresAt <= this.now()) throw new SimHttpError(401, '"Access token is invalid or expired"');
      const user = this.estate.findUser(t.user);
      if (!user) throw new SimHttpError(401, '"User not found"');
      return user;
    }
    const auth = parsePsAuth(authorization);
    const unauthorized = new SimHttpError(401, '"Unauthorized"');
    if (!auth?.key || !auth.runas) throw unauthorized;
    const reg = this.estate.registrations.find((r) => r.kind === 'apikey' && r.key === auth.key);
    if (!reg || reg.kind !== 'apikey') throw unauthorized;
    if (reg.allowedAddresses.length > 0 && !reg.allowedAddresses.includes(remote.replace(/^::ffff:/, '')))
      throw unauthorized;
    const user = this.estate.findUser(auth.runas);
    if (!user || !reg.groups.some((g) => user.groups.includes(g.toLowerCase()))) throw unauthorized;
    if (reg.requirePassword && (auth.pwd === undefined || auth.pwd !== user.password)) throw unauthorized;
    return user;
  }

  /** The live session named by the request's cookie, touched; 401 when absent or idled out. */
  require(cookieHeader: string | undefined): SimSession {
    const id = readCookie(cookieHeader);
    const s = id ? this.#sessions.get(id) : undefined;
    if (!s) throw new SimHttpError(401, '"User not authenticated"');
    if (this.now() - s.lastUsed > this.idleMs) {
      this.#sessions.delete(s.id);
      throw new SimHttpError(401, '"Session expired"');
    }
    s.lastUsed = this.now();
    return s;
  }

  /** `POST Auth/Signout`: 200 whether or not the cookie named a live session. */
  signOut(cookieHeader: string | undefined): void {
    const id = readCookie(cookieHeader);
    const s = id ? this.#sessions.get(id) : undefined;
    if (!s) return;
    this.#sessions.delete(s.id);
    this.signOuts.set(s.user.name, (this.signOuts.get(s.user.name) ?? 0) + 1);
  }

  /** Forced expiry (tests): drops every session, or those of one user. */
  expire(userName?: string): number {
    let n = 0;
    for (const [id, s] of this.#sessions) {
      if (userName === undefined || s.user.name.toLowerCase() === userName.toLowerCase()) {
        this.#sessions.delete(id);
        n++;
      }
    }
    return n;
  }

  /** Names of the users with a live session (one entry per session). */
  liveSessions(): string[] {
    return [...this.#sessions.values()].map((s) => s.user.name);
  }
}
