import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../platform/clock.js';
import type { ServiceError } from '../platform/errors.js';
import type { VaultConfig } from '../vault/vault-config.js';
import type { Component } from '../platform/lifecycle.js';
import { unit, unitKey, type UnitSpec } from '../platform/units.js';
import type { Runtime } from './runtime.js';
import { PasswordSafeVault } from '../vault/passwordsafe/password-safe-vault.js';
import type { VaultPort } from '../vault/vault-port.js';

/** Builds the configured vault adapter (Password Safe is the only kind so far). */
export function createVault(
  config: VaultConfig,
  deps: { log: Logger; metrics: Registry; clock: Clock },
): PasswordSafeVault {
  return new PasswordSafeVault(config, deps);
}

/**
 * The vault as a service unit: later units (the broker) take the port from `.port`. Stopping
 * signs out every pooled vault session. Readiness reflects the last call's outcome rather than
 * probing the vault on every /readyz.
 */
export class VaultComponent implements Component {
  readonly name = 'vault';
  #vault:
    | (VaultPort & {
        close(): Promise<void>;
        readonly lastFailure: ServiceError | undefined;
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
        ? { ready: false, reason: failure.message, details: { code: failure.code } }
        : {
            ready: true,
            // Works, but the vault administrator has something to grant (shown on the status page).
            reason: [
              `passwordsafe ${new URL(this.config.url).host}`,
              ...vault.notices.map((n) => `warning: ${n}`),
            ].join('; '),
          };
    });
  }

  async stop(): Promise<void> {
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
