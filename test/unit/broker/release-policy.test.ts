import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConsoleRequest } from '../../../src/broker/broker-port.js';
import { ReleasePolicy } from '../../../src/broker/release-policy.js';
import { brokerSchema } from '../../../src/broker/broker-config.js';
import { withSecretEnv } from '../../../src/platform/config/secret-ref.js';
import { isServiceError } from '../../../src/platform/errors.js';

const POLICIES = `
credentialIdKey: 0123456789abcdef0123456789abcdef
policies:
  - name: production-needs-ticket
    jumpGroups: [Production]
    requireExternalKey: "^(CHG|INC)-\\\\d+$"
  - name: production-office-hours
    jumpGroups: [Production]
    timeWindows:
      - { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00", timezone: Europe/Berlin }
  - name: corp-ad-only
    allowedUserGroups: [Corp AD]
`;

function parsePolicies(yaml: string) {
  return withSecretEnv({ env: {}, allowLiterals: true, readFile: () => '', baseDir: '.' }, () =>
    brokerSchema.parse(parse(yaml)),
  ).policies;
}

const policy = new ReleasePolicy(parsePolicies(POLICIES));
const ctx = (group: string, externalKey?: string, provider = 'Corp AD'): ConsoleRequest => ({
  site: 'corp',
  user: { username: 'CORP\\jdoe', securityProvider: { name: provider } },
  jumpItem: { jumpGroup: { name: group } },
  session: { lsid: 'l1', ...(externalKey !== undefined && { externalKey }) },
});
// Wednesday 2026-01-07 10:00 UTC = 11:00 in Berlin (CET, UTC+1).
const WED_11_BERLIN = new Date(Date.UTC(2026, 0, 7, 10, 0));

describe('ReleasePolicy', () => {
  it('passes when every applicable policy is met', () => {
    expect(policy.evaluate(ctx('Production', 'CHG-1234'), WED_11_BERLIN)).toEqual([
      { policy: 'production-needs-ticket', ok: true, detail: 'all conditions met' },
      { policy: 'production-office-hours', ok: true, detail: 'all conditions met' },
      { policy: 'corp-ad-only', ok: true, detail: 'all conditions met' },
    ]);
  });

  it('refuses a missing or malformed ticket, naming the policy (policy.denied)', () => {
    for (const [key, why] of [
      [undefined, 'an External Key matching ^(CHG|INC)-\\d+$ is required'],
      ['see me', 'the External Key does not match ^(CHG|INC)-\\d+$'],
    ] as const) {
      try {
        policy.enforce(ctx('Production', key), WED_11_BERLIN);
        expect.unreachable();
      } catch (e) {
        expect(isServiceError(e, 'policy.denied')).toBe(true);
        expect((e as Error).message).toBe(`Release refused by policy "production-needs-ticket": ${why}`);
      }
    }
  });

  it("evaluates time windows in the window's own time zone", () => {
    // 18:30 UTC on a Wednesday is 19:30 in Berlin: outside 07:00-19:00 although inside it in UTC.
    const late = new Date(Date.UTC(2026, 0, 7, 18, 30));
    expect(() => policy.enforce(ctx('Production', 'INC-7'), late)).toThrow(
      'Release refused by policy "production-office-hours": outside the allowed time windows (mon,tue,wed,thu,fri 07:00-19:00 Europe/Berlin)',
    );
    // Summer time: 2026-07-08 17:30 UTC is 19:30 CEST (outside); 16:30 UTC is 18:30 (inside).
    expect(() => policy.enforce(ctx('Production', 'INC-7'), new Date(Date.UTC(2026, 6, 8, 17, 30)))).toThrow(
      /office-hours/,
    );
    expect(() => policy.enforce(ctx('Production', 'INC-7'), new Date(Date.UTC(2026, 6, 8, 16, 30)))).not.toThrow();
    // Saturday.
    expect(() => policy.enforce(ctx('Production', 'INC-7'), new Date(Date.UTC(2026, 0, 10, 10, 0)))).toThrow(
      /office-hours/,
    );
  });

  it('applies group-less policies everywhere and group policies only to their group (case-insensitive)', () => {
    expect(policy.evaluate(ctx('Web servers'), WED_11_BERLIN).map((v) => v.policy)).toEqual(['corp-ad-only']);
    expect(policy.evaluate(ctx('PRODUCTION', 'CHG-1'), WED_11_BERLIN)).toHaveLength(3);
    expect(() => policy.enforce(ctx('Web servers', undefined, 'Partner SAML'), WED_11_BERLIN)).toThrow(
      'Release refused by policy "corp-ad-only": user group "Partner SAML" is not one of Corp AD',
    );
  });

  it('schema rejects an unknown time zone, an inverted window and a bad ticket pattern', () => {
    const r = brokerSchema.safeParse(
      parse(`
credentialIdKey: k
policies:
  - name: p
    requireExternalKey: "(["
    timeWindows: [{ days: [mon], from: "19:00", to: "07:00", timezone: Mars/Olympus }]
`),
    );
    const messages = r.error?.issues.map((i) => i.message) ?? [];
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('invalid regular expression'),
        '`to` must be after `from` (split a window that crosses midnight in two)',
        'unknown time zone "Mars/Olympus"',
      ]),
    );
  });
});
