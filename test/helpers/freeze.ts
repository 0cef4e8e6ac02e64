import type { FakeVault } from '../../src/vault/fake-vault.js';

/**
 * The store as one replica reaches it, for a test to freeze that replica (SIGSTOP, a paused VM):
 * while frozen every store call it makes waits, and goes on once thawed.
 */
export function freezable<S extends object>(state: S) {
  let thawed: Promise<void> | undefined;
  let thaw = () => undefined as void;
  const view = new Proxy(state, {
    get(target, prop) {
      const v: unknown = Reflect.get(target, prop);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        while (thawed) await thawed;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    view,
    freeze() {
      thawed = new Promise<void>((resolve) => {
        thaw = () => {
          thawed = undefined;
          resolve();
        };
      });
    },
    thaw: () => thaw(),
  };
}

/**
 * Freezes the replica inside its next vault checkout (a SIGSTOP, a paused VM): before Password
 * Safe made the request, or after it made it and before the answer reached the replica.
 */
export function freezeCheckout(vault: FakeVault, when: 'before' | 'after') {
  const checkout = vault.checkout.bind(vault);
  let resume!: () => void;
  const resumed = new Promise<void>((r) => (resume = r));
  let reached = false;
  vault.checkout = async (...args: Parameters<typeof checkout>) => {
    vault.checkout = checkout;
    if (when === 'before') {
      reached = true;
      await resumed;
      return checkout(...args);
    }
    const answer = await checkout(...args);
    reached = true;
    await resumed;
    return answer;
  };
  return { resume, reached: () => reached };
}
