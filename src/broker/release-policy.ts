import type { ConsoleRequest } from './broker-port.js';
import type { PolicyConfig } from './broker-config.js';
import { ServiceError } from '../platform/errors.js';
import { LinearRegex } from '../platform/linear-regex.js';

export interface PolicyVerdict {
  policy: string;
  ok: boolean;
  detail: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/**
 * Checks made before any credential is released, per Jump Group: a ticket in
 * `session.externalKey`, time windows (evaluated in each window's own time zone, so daylight
 * saving is the zone's business, not ours) and allowed user groups (security provider names).
 * Every applicable policy must pass; a refusal names the policy and the failed condition.
 */
export class ReleasePolicy {
  readonly #ticket: Map<string, LinearRegex>;

  constructor(private readonly policies: PolicyConfig[]) {
    this.#ticket = new Map(
      policies.flatMap((p) =>
        p.requireExternalKey
          ? [[p.name, LinearRegex.compile(p.requireExternalKey, { ignoreCase: false })] as const]
          : [],
      ),
    );
  }

  /** One verdict per policy that applies to the request's Jump Group. */
  evaluate(context: ConsoleRequest, now: Date): PolicyVerdict[] {
    const group = context.jumpItem?.jumpGroup?.name;
    return this.policies
      .filter(
        (p) =>
          p.jumpGroups.length === 0 ||
          (group !== undefined && p.jumpGroups.some((g) => g.toLowerCase() === group.toLowerCase())),
      )
      .map((p) => {
        const failure = this.#firstFailure(p, context, now);
        return { policy: p.name, ok: failure === undefined, detail: failure ?? 'all conditions met' };
      });
  }

  /** Throws `policy.denied` naming the first refusing policy. */
  enforce(context: ConsoleRequest, now: Date): void {
    const refused = this.evaluate(context, now).find((v) => !v.ok);
    if (refused) {
      throw new ServiceError('policy.denied', `Release refused by policy "${refused.policy}": ${refused.detail}`, {
        op: 'broker.policy',
        details: { policy: refused.policy },
      });
    }
  }

  #firstFailure(p: PolicyConfig, context: ConsoleRequest, now: Date): string | undefined {
    const re = this.#ticket.get(p.name);
    if (re) {
      const key = context.session?.externalKey ?? '';
      if (key === '') return `an External Key matching ${p.requireExternalKey} is required`;
      if (!re.test(key)) return `the External Key does not match ${p.requireExternalKey}`;
    }
    if (p.timeWindows && !p.timeWindows.some((w) => inWindow(w, now))) {
      const list = p.timeWindows.map((w) => `${w.days.join(',')} ${w.from}-${w.to} ${w.timezone}`).join('; ');
      return `outside the allowed time windows (${list})`;
    }
    if (p.allowedUserGroups) {
      const provider = context.user.securityProvider?.name ?? '';
      if (!p.allowedUserGroups.some((g) => g.toLowerCase() === provider.toLowerCase())) {
        return `user group ${provider === '' ? '(none)' : `"${provider}"`} is not one of ${p.allowedUserGroups.join(', ')}`;
      }
    }
    return undefined;
  }
}

type Window = NonNullable<PolicyConfig['timeWindows']>[number];

function inWindow(w: Window, now: Date): boolean {
  const { day, minutes } = localTime(now, w.timezone);
  return w.days.includes(day) && minutes >= toMinutes(w.from) && minutes < toMinutes(w.to);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Day of week and minutes since midnight of `now` in `timeZone`. */
export function localTime(now: Date, timeZone: string): { day: (typeof DAYS)[number]; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(now).map((x) => [x.type, x.value]));
  const day = DAYS.find((d) => d === String(parts.weekday).toLowerCase().slice(0, 3)) ?? 'sun';
  return { day, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}
