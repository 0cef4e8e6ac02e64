import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../platform/clock.js';
import type { Health } from '../../platform/health.js';
import type { VaultConfig } from '../../vault/vault-config.js';
import type { Component } from '../../platform/lifecycle.js';
import { unit, unitKey, type UnitSpec } from '../../platform/units.js';
import type { Runtime } from '../runtime.js';
import { PasswordSafeVault } from '../../vault/passwordsafe/password-safe-vault.js';
import type { VaultPort } from '../../vault/vault-port.js';

/** Builds the configured vault adapter (Password Safe is the only kind so far). */
export function createVault(
  config: VaultConfig,
  deps: { log: Logger; metrics: Registry; clock: Clock },
): PasswordSafeVault {
  return new PasswordSafeVault(config, deps);
}

/** How often the vault unit probes the vault for readiness (one pooled call; no sign-in per probe). */
export const VAULT_PROBE_MS = 30_000;

/**
 * The vault as a service unit: later units (the broker) take the port from `.port`. Stopping
 * signs out every pooled vault session. Readiness reflects the outcome of the last call, console
 * requests and a cheap probe alike: every 30 s (and at start) the unit runs `health` (one
 * `Workgroups` call in the probe user's pooled session), so an unreachable vault or proxy shows
 * on /readyz before a console request fails, and its recovery too. Without a way to sign in for
 * the probe (API key without `vault.probeUser`) only console calls count.
 */
export class VaultComponent implements Component {
  readonly name = 'vault';
  readonly #stopProbe = new AbortController();
  #probe: Promise<void> | undefined;
  #next: NodeJS.Timeout | undefined;
  #vault:
    | (VaultPort & {
        close(): Promise<void>;
        readonly lastFailure: Health;
        readonly notices: string[];
      })
    | undefined;

  constructor(
    private readonly config: VaultConfig,
    private readonly rt: Runtime,
  ) {}

  /** The port; valid between start() and stop(). */
  get port(): VaultPort {
    if (!this.#vault) throw new Error('vault unit used before it started');
    return this.#vault;
  }

  async start(): Promise<void> {
    const vault = createVault(this.config, this.rt);
    this.#vault = vault;
    this.rt.readiness.register('vault', () => {
      const failure = vault.lastFailure;
      return failure
        ? { ready: false, failure }
        : {
            ready: true,
            // Works, but the vault administrator has something to grant (shown on the status page).
            reason: [
              `passwordsafe ${new URL(this.config.url).host}`,
              ...vault.notices.map((n) => `warning: ${n}`),
            ].join('; '),
          };
    });
    this.#probe = this.#probeLoop(vault);
  }

  /**
   * One probe now, the next one 30 s after it ends. Real timers (unref'd), not the injected clock:
   * a test clock whose sleeps return at once would turn the probe into a busy loop.
   */
  async #probeLoop(vault: PasswordSafeVault): Promise<void> {
    const signal = this.#stopProbe.signal;
    if (signal.aborted || (this.config.auth.method === 'apikey' && !this.config.probeUser)) return;
    // The outcome lands in `lastFailure` (set on a vault, TLS or proxy failure, cleared on success).
    await vault.health(undefined, signal);
    if (signal.aborted) return;
    this.#next = setTimeout(() => {
      this.#probe = this.#probeLoop(vault);
    }, VAULT_PROBE_MS);
    this.#next.unref();
  }

  async stop(): Promise<void> {
    this.#stopProbe.abort();
    clearTimeout(this.#next);
    await this.#probe;
    this.rt.readiness.unregister('vault');
    const vault = this.#vault;
    this.#vault = undefined;
    await vault?.close();
  }
}

export const VAULT_UNIT = unitKey<VaultComponent>('vault');

/** The `vault` unit for serviceUnits, when a vault is configured. */
export function vaultUnits(config: VaultConfig | undefined, rt: Runtime): UnitSpec[] {
  return config ? [unit({ key: VAULT_UNIT, slice: config, create: (slice) => new VaultComponent(slice, rt) })] : [];
}
