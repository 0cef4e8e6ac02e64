import { createHash, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A secret value (password, token, key). Every way of turning it into text — template strings,
 * String(), JSON.stringify, util.inspect, pino — yields `[REDACTED]`; only `reveal()` gives the
 * value, and callers use it at the last moment (building a header, a TLS option, a frame).
 */
export class Secret {
  readonly #value: string;

  /** `origin` says where the value came from (`env:NAME`, `file:/path`, `literal`): safe to print. */
  constructor(
    value: string,
    readonly origin = 'literal',
  ) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  /** Constant-time comparison, so config reloads can tell changed secrets without revealing them. */
  equals(other: Secret): boolean {
    const a = createHash('sha256').update(this.#value).digest();
    const b = createHash('sha256').update(other.#value).digest();
    return timingSafeEqual(a, b);
  }

  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

export const REDACTED_TEXT = REDACTED;
