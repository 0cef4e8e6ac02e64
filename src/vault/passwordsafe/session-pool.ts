import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock.js';
import { ServiceError } from '../../platform/errors.js';
import type { Secret } from '../../platform/secret.js';

/** One signed-in Password Safe session. The cookie is the session: a Secret like any other. */
export interface PsSession {
  identity: string;
  cookie: Secret;
  userId: number;
  lastUsed: number;
}

export interface SessionPoolOptions {
  maxSessions: number;
  idleMs: number;
  clock: Clock;
  log: Logger;
  signIn(identity: string, signal?: AbortSignal): Promise<PsSession>;
  signOut(session: PsSession): Promise<void>;
  onSizeChange?(size: number): void;
}

/**
 * A bounded LRU of signed-in sessions keyed by identity (the runas vault user). Concurrent
 * callers for the same identity share one sign-in. Sessions unused for `idleMs` are replaced
 * rather than risk a 401; the least recently used session is signed out when the pool is full;
 * `close` signs every session out. Sign-outs are best effort: a failure is logged, not thrown.
 */
export class SessionPool {
  /** Map iteration order is insertion order: re-inserting on use keeps it LRU-ordered. */
  readonly #sessions = new Map<string, PsSession>();
  readonly #pending = new Map<string, Promise<PsSession>>();
  readonly #signingOut = new Set<Promise<void>>();
  #closed = false;

  constructor(private readonly o: SessionPoolOptions) {}

  get size(): number {
    return this.#sessions.size;
  }

  async acquire(identity: string, signal?: AbortSignal): Promise<PsSession> {
    if (this.#closed)
      throw new ServiceError('service.shutting_down', 'the vault adapter is shutting down', { op: 'vault.session' });
    const now = this.o.clock.now();
    const s = this.#sessions.get(identity);
    if (s && now - s.lastUsed <= this.o.idleMs) {
      this.#sessions.delete(identity);
      this.#sessions.set(identity, s);
      s.lastUsed = now;
      return s;
    }
    if (s) this.#drop(s, true);
    const inFlight = this.#pending.get(identity);
    if (inFlight) return inFlight;
    const p = this.o
      .signIn(identity, signal)
      .then((fresh) => {
        if (this.#closed) {
          this.#signOut(fresh);
          throw new ServiceError('service.shutting_down', 'the vault adapter is shutting down', {
            op: 'vault.session',
          });
        }
        this.#sessions.set(identity, fresh);
        this.#evictOverflow();
        this.o.onSizeChange?.(this.#sessions.size);
        return fresh;
      })
      .finally(() => this.#pending.delete(identity));
    this.#pending.set(identity, p);
    return p;
  }

  /** Forgets a session the vault rejected (401); it is already dead, so no sign-out. */
  invalidate(session: PsSession): void {
    if (this.#sessions.get(session.identity) === session) this.#drop(session, false);
  }

  #evictOverflow(): void {
    while (this.#sessions.size > this.o.maxSessions) {
      const oldest = this.#sessions.values().next().value as PsSession;
      this.o.log.debug(
        { vaultUser: oldest.identity },
        'vault session pool full: signing out the least recently used session',
      );
      this.#drop(oldest, true);
    }
  }

  #drop(s: PsSession, signOut: boolean): void {
    this.#sessions.delete(s.identity);
    this.o.onSizeChange?.(this.#sessions.size);
    if (signOut) this.#signOut(s);
  }

  #signOut(s: PsSession): void {
    const p = this.o
      .signOut(s)
      .catch((e: unknown) => this.o.log.warn({ vaultUser: s.identity, err: e }, 'Password Safe sign-out failed'))
      .finally(() => this.#signingOut.delete(p));
    this.#signingOut.add(p);
  }

  /** Signs out every session (and waits for sign-outs already under way). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#pending.values()]);
    for (const s of [...this.#sessions.values()]) this.#drop(s, true);
    await Promise.allSettled([...this.#signingOut]);
  }
}
