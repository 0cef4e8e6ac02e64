import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ConsoleUser } from '../../../src/protocol/ecm-protocol.js';
import { userMappingSchema } from '../../../src/broker/broker-config.js';
import { isServiceError } from '../../../src/platform/errors.js';
import { UserMapper } from '../../../src/broker/user-mapper.js';

// A realistic rule set: the rules a BeyondTrust admin writes for one AD forest, a partner IdP,
// a RADIUS provider and a legacy domain the vault does not know by DNS name.
const RULES = `
domains:
  CORP: corp.example.com
  EMEA: emea.corp.example.com
rules:
  - name: contractors-denied
    match: { username: "regex:^(CORP\\\\\\\\)?ext-" }
    deny: External accounts cannot receive injected credentials
  - name: radius-admins
    match: { securityProviderKind: radius }
    vaultUser: "radius-{user}"
  - name: web-group-netbios
    match: { jumpGroup: Web servers, domain: CORP }
    transform: { domain: to-netbios, case: upper }
  - name: lab-by-email
    match: { email: "regex:@lab\\\\.example$" }
    transform: { domain: strip, case: lower }
  - name: corp-to-upn
    match: { domain: CORP }
    transform: { domain: to-upn, case: lower }
  - name: emea-to-upn
    match: { domain: EMEA }
    transform: { domain: to-upn, case: lower }
  - name: partner-template
    match: { username: "regex:^(?<first>[a-z])[a-z]*\\\\.(?<last>[a-z]+)@partner\\\\.example$" }
    vaultUser: "{first}{last}@corp.example.com"
    transform: { case: lower }
  - name: legacy-upn
    match: { securityProvider: Legacy AD }
    transform: { domain: to-upn }
  - name: legacy-strip
    match: { securityProvider: Legacy AD }
    transform: { domain: strip }
  - name: saml-upn-template
    match: { securityProvider: Partner SAML }
    vaultUser: "{upn}"
  - name: bare-names-are-corp
    match: { domain: "" }
    transform: { domain: to-upn, upnSuffix: corp.example.com, case: lower }
`;

const ad = { id: 3, name: 'Corp AD', kind: 'ldap' };
const mapper = (extra = '') => new UserMapper(userMappingSchema.parse(parse(RULES + extra)));

interface Case {
  name: string;
  user: ConsoleUser;
  jumpGroup?: string;
  expect: { vaultUser: string; rule: string | null } | { denied: string } | 'unmapped';
  passthrough?: boolean;
}

const u = (username: string, extra: Partial<ConsoleUser> = {}): ConsoleUser => ({
  username,
  securityProvider: ad,
  ...extra,
});

const CASES: Case[] = [
  {
    name: 'NetBIOS login to UPN',
    user: u('CORP\\jdoe'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'DNS domain before the backslash is recognised through the domains table',
    user: u('corp.example.com\\jdoe'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'NetBIOS login, mixed case',
    user: u('corp\\JDoe'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'UPN login matches domain CORP through the table',
    user: u('jdoe@corp.example.com'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'UPN login upper case',
    user: u('JDOE@CORP.EXAMPLE.COM'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'missing domain: bare name gets the corp suffix',
    user: u('jdoe'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'bare-names-are-corp' },
  },
  {
    name: 'missing domain: leading backslash only',
    user: u('\\JDoe'),
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'bare-names-are-corp' },
  },
  {
    name: 'second domain, NetBIOS',
    user: u('EMEA\\mrossi'),
    expect: { vaultUser: 'mrossi@emea.corp.example.com', rule: 'emea-to-upn' },
  },
  {
    name: 'second domain, UPN',
    user: u('mrossi@emea.corp.example.com'),
    expect: { vaultUser: 'mrossi@emea.corp.example.com', rule: 'emea-to-upn' },
  },
  { name: 'different domain part (unknown NetBIOS) is not mapped', user: u('OTHER\\jdoe'), expect: 'unmapped' },
  { name: 'different domain part (unknown DNS) is not mapped', user: u('jdoe@other.example'), expect: 'unmapped' },
  {
    name: 'different domain part with passthrough',
    user: u('OTHER\\jdoe'),
    passthrough: true,
    expect: { vaultUser: 'OTHER\\jdoe', rule: null },
  },
  { name: 'contractor (NetBIOS) denied', user: u('CORP\\ext-bob'), expect: { denied: 'contractors-denied' } },
  { name: 'contractor (bare) denied', user: u('ext-bob'), expect: { denied: 'contractors-denied' } },
  { name: 'contractor (UPN) denied', user: u('EXT-bob@corp.example.com'), expect: { denied: 'contractors-denied' } },
  {
    name: 'deny wins over passthrough',
    user: u('ext-bob'),
    passthrough: true,
    expect: { denied: 'contractors-denied' },
  },
  {
    name: 'radius provider kind, template {user}',
    user: u('CORP\\root-ops', { securityProvider: { name: 'RADIUS', kind: 'radius' } }),
    expect: { vaultUser: 'radius-root-ops', rule: 'radius-admins' },
  },
  {
    name: 'jump group narrows: NetBIOS upper case',
    user: u('corp\\jdoe'),
    jumpGroup: 'Web servers',
    expect: { vaultUser: 'CORP\\JDOE', rule: 'web-group-netbios' },
  },
  {
    name: 'jump group match is case-insensitive',
    user: u('CORP\\jdoe'),
    jumpGroup: 'WEB SERVERS',
    expect: { vaultUser: 'CORP\\JDOE', rule: 'web-group-netbios' },
  },
  {
    name: 'jump group: UPN login converted to NetBIOS',
    user: u('jdoe@corp.example.com'),
    jumpGroup: 'Web servers',
    expect: { vaultUser: 'CORP\\JDOE', rule: 'web-group-netbios' },
  },
  {
    name: 'other jump group falls through to UPN',
    user: u('CORP\\jdoe'),
    jumpGroup: 'Databases',
    expect: { vaultUser: 'jdoe@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'email regex, domain stripped',
    user: u('LAB\\Tom', { email: 'tom@lab.example' }),
    expect: { vaultUser: 'tom', rule: 'lab-by-email' },
  },
  {
    name: 'partner template with named groups',
    user: u('john.smith@partner.example', { securityProvider: { name: 'Partner', kind: 'saml' } }),
    expect: { vaultUser: 'jsmith@corp.example.com', rule: 'partner-template' },
  },
  {
    name: 'legacy domain unknown to the table: to-upn skipped, strip applies',
    user: u('LEGACY\\bob', { securityProvider: { name: 'Legacy AD', kind: 'ldap' } }),
    expect: { vaultUser: 'bob', rule: 'legacy-strip' },
  },
  {
    name: 'provider name match is case-insensitive',
    user: u('LEGACY\\bob', { securityProvider: { name: 'legacy ad' } }),
    expect: { vaultUser: 'bob', rule: 'legacy-strip' },
  },
  {
    name: 'template needing {upn} skipped for a bare name',
    user: u('alice', { securityProvider: { name: 'Partner SAML', kind: 'saml' } }),
    expect: { vaultUser: 'alice@corp.example.com', rule: 'bare-names-are-corp' },
  },
  {
    name: 'template {upn} used when the name has a domain',
    user: u('alice@corp.example.com', { securityProvider: { name: 'Partner SAML', kind: 'saml' } }),
    expect: { vaultUser: 'alice@corp.example.com', rule: 'corp-to-upn' },
  },
  {
    name: 'no security provider at all',
    user: { username: 'CORP\\svc' },
    expect: { vaultUser: 'svc@corp.example.com', rule: 'corp-to-upn' },
  },
  { name: 'domain without account', user: u('CORP\\'), expect: 'unmapped' },
  { name: 'empty username with passthrough stays unmapped', user: u(''), passthrough: true, expect: 'unmapped' },
];

describe('UserMapper (table)', () => {
  const strict = mapper();
  const lenient = mapper('default: passthrough\n');
  it.each(CASES)('$name', (c) => {
    const d = (c.passthrough ? lenient : strict).decide({
      user: c.user,
      ...(c.jumpGroup && { jumpGroup: c.jumpGroup }),
    });
    if (c.expect === 'unmapped') {
      expect(d.outcome).toBe('unmapped');
    } else if ('denied' in c.expect) {
      expect(d).toMatchObject({
        outcome: 'denied',
        rule: c.expect.denied,
        reason: 'External accounts cannot receive injected credentials',
      });
    } else {
      expect(d).toMatchObject({ outcome: 'mapped', ...c.expect });
    }
    // Every decision is explained: one trace line per rule tried, ending with the deciding one.
    expect(d.trace.length).toBeGreaterThan(0);
    const last = d.trace[d.trace.length - 1];
    if (d.outcome === 'mapped' && d.rule !== null) expect(last).toMatchObject({ rule: d.rule, verdict: 'matched' });
    if (d.outcome === 'unmapped') expect(last).toMatchObject({ rule: '(default)', verdict: 'default' });
  });
});

describe('UserMapper explanations and errors', () => {
  it('explains why each rule did not match, with the domain as the console sent it', () => {
    const d = mapper().decide({ user: u('OTHER\\jdoe') });
    const corp = d.trace.find((t) => t.rule === 'corp-to-upn');
    expect(corp).toEqual({ rule: 'corp-to-upn', verdict: 'no-match', detail: 'domain "OTHER" does not match "CORP"' });
    expect(d.trace.map((t) => t.rule)).toEqual([
      'contractors-denied',
      'radius-admins',
      'web-group-netbios',
      'lab-by-email',
      'corp-to-upn',
      'emea-to-upn',
      'partner-template',
      'legacy-upn',
      'legacy-strip',
      'saml-upn-template',
      'bare-names-are-corp',
      '(default)',
    ]);
  });

  it('says why a matching rule was skipped', () => {
    const d = mapper().decide({ user: u('LEGACY\\bob', { securityProvider: { name: 'Legacy AD' } }) });
    expect(d.trace.find((t) => t.rule === 'legacy-upn')).toMatchObject({
      verdict: 'skipped',
      detail: expect.stringContaining('has domain LEGACY, which userMapping.domains does not map'),
    });
    const saml = mapper().decide({ user: u('alice', { securityProvider: { name: 'Partner SAML' } }) });
    expect(saml.trace.find((t) => t.rule === 'saml-upn-template')?.detail).toContain('needs {upn}');
  });

  it('resolve() throws mapping.denied naming the rule and mapping.unmapped naming the user', () => {
    const m = mapper();
    expect(() => m.resolve({ user: u('ext-bob') })).toThrow(/rule "contractors-denied": External accounts/);
    try {
      m.resolve({ user: u('OTHER\\jdoe') });
      expect.unreachable();
    } catch (e) {
      expect(isServiceError(e, 'mapping.unmapped')).toBe(true);
      expect((e as Error).message).toBe('No user-mapping rule matches console user "OTHER\\jdoe"');
    }
    expect(m.resolve({ user: u('CORP\\jdoe') })).toBe('jdoe@corp.example.com');
  });
});

describe('userMapping schema', () => {
  const bad = (yaml: string) => {
    const r = userMappingSchema.safeParse(parse(yaml));
    expect(r.success).toBe(false);
    return r.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  };

  it('rejects an unknown template placeholder, naming the allowed ones', () => {
    expect(bad('rules: [{ name: a, vaultUser: "{usr}@x" }]')[0]).toMatch(
      /^rules.0.vaultUser: unknown placeholder \{usr\} \(expected one of \{user\}/,
    );
  });

  it('accepts named groups of the rule as placeholders', () => {
    expect(
      userMappingSchema.safeParse(
        parse('rules: [{ name: a, match: { username: "regex:^(?<x>.+)$" }, vaultUser: "{x}" }]'),
      ).success,
    ).toBe(true);
  });

  it('rejects an invalid regex, a deny rule that also maps, and duplicate names', () => {
    expect(bad('rules: [{ name: a, match: { username: "regex:([" } }]')[0]).toContain('invalid regular expression');
    expect(bad('rules: [{ name: a, deny: no, vaultUser: x }]')[0]).toContain('a deny rule cannot also map');
    expect(bad('rules: [{ name: a }, { name: a }]')[0]).toContain('duplicate rule name "a"');
  });
});

describe('UserMapper hint for an unmapped user', () => {
  const bare = (rules = ' []') =>
    new UserMapper(userMappingSchema.parse(parse(`domains: { CORP: corp.example.com }\nrules:${rules}\n`)));
  it.each([
    ['CORP\\jdoe', 'jdoe@corp.example.com'],
    ['jdoe@corp.example.com', 'jdoe@corp.example.com'],
    ['OTHER\\jdoe', 'OTHER\\jdoe'],
    // A local or RADIUS user of the appliance: to the UPN under the directory's domain, never bare.
    ['jdoe', 'jdoe@corp.example.com'],
  ])('%s: the suggested rule, added to userMapping.rules, maps the user (to %s)', (username, vaultUser) => {
    const d = bare().decide({ user: { username } });
    if (d.outcome !== 'unmapped') throw new Error(`expected unmapped, got ${d.outcome}`);
    expect(d.hint).toMatch(new RegExp(`^no user-mapping rule matched ${username.replace(/\\/g, '\\\\')}; add e.g. \``));
    const rule = /`(- \{.*\})`/.exec(d.hint)![1]!;
    expect(bare(`\n  ${rule}`).decide({ user: { username } })).toMatchObject({
      outcome: 'mapped',
      vaultUser,
    });
  });
});
