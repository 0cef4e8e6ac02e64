import type { ConsoleUser } from './broker-port.js';
import { REGEX_PREFIX, type MappingRule, type UserMappingConfig } from './broker-config.js';
import { ServiceError } from '../platform/errors.js';
import { LinearRegex } from '../platform/linear-regex.js';
import { domainSpellings, givenDomain, parseConsoleName, type ConsoleName } from './console-name.js';

/** One line of the explanation of a mapping decision. */
export interface TraceStep {
  rule: string;
  verdict: 'matched' | 'no-match' | 'skipped' | 'default';
  detail: string;
}

export type MappingDecision =
  | { outcome: 'mapped'; vaultUser: string; rule: string | null; trace: TraceStep[] }
  | { outcome: 'denied'; rule: string; reason: string; trace: TraceStep[] }
  | { outcome: 'unmapped'; trace: TraceStep[]; hint: string };

export interface MappingInput {
  user: ConsoleUser;
  jumpGroup?: string;
}

type Fields = Record<string, string | undefined>;

/**
 * Console user -> vault user by ordered rules: the first rule whose every `match` criterion fits
 * decides (deny, or map through its transform/template). A rule that matches but cannot build a
 * vault user (e.g. `to-upn` for a username without domain and no `upnSuffix`) is skipped, and
 * the trace says why, so the next rule can handle that case. Pure and synchronous.
 */
export class UserMapper {
  readonly #compiled: Map<string, LinearRegex>;

  constructor(private readonly config: UserMappingConfig) {
    this.#compiled = new Map();
    for (const rule of config.rules) {
      for (const v of Object.values(rule.match)) {
        if (typeof v === 'string' && v.startsWith(REGEX_PREFIX))
          this.#compiled.set(v, LinearRegex.compile(v.slice(REGEX_PREFIX.length), { ignoreCase: true }));
      }
    }
  }

  decide(input: MappingInput): MappingDecision {
    const name = parseConsoleName(input.user.username ?? '', this.config.domains);
    const trace: TraceStep[] = [];
    for (const rule of this.config.rules) {
      const groups: Record<string, string> = {};
      const miss = this.#firstMismatch(rule, input, name, groups);
      if (miss !== undefined) {
        trace.push({ rule: rule.name, verdict: 'no-match', detail: miss });
        continue;
      }
      if (rule.deny !== undefined) {
        trace.push({ rule: rule.name, verdict: 'matched', detail: `deny: ${rule.deny}` });
        return { outcome: 'denied', rule: rule.name, reason: rule.deny, trace };
      }
      const built = buildVaultUser(rule, name, input.user.email, groups);
      if ('skip' in built) {
        trace.push({ rule: rule.name, verdict: 'skipped', detail: built.skip });
        continue;
      }
      trace.push({ rule: rule.name, verdict: 'matched', detail: `vault user "${built.vaultUser}" (${built.how})` });
      return { outcome: 'mapped', vaultUser: built.vaultUser, rule: rule.name, trace };
    }
    if (this.config.default === 'passthrough' && name.given !== '') {
      trace.push({ rule: '(default)', verdict: 'default', detail: `passthrough: vault user "${name.given}"` });
      return { outcome: 'mapped', vaultUser: name.given, rule: null, trace };
    }
    trace.push({ rule: '(default)', verdict: 'default', detail: 'deny: no rule matched' });
    return { outcome: 'unmapped', trace, hint: ruleHint(name, this.config.domains) };
  }

  /** The vault user, or the ServiceError a console user receives. */
  resolve(input: MappingInput): string {
    const d = this.decide(input);
    if (d.outcome === 'mapped') return d.vaultUser;
    throw refusal(d, input.user.username);
  }

  #firstMismatch(
    rule: MappingRule,
    input: MappingInput,
    name: ConsoleName,
    groups: Record<string, string>,
  ): string | undefined {
    const m = rule.match;
    const user = input.user;
    const checks: [string, string | undefined, string[] | undefined][] = [
      ['username', m.username, [name.given]],
      ['securityProvider', m.securityProvider, present(user.securityProvider?.name)],
      ['securityProviderKind', m.securityProviderKind, present(user.securityProvider?.kind)],
      ['domain', m.domain, domainSpellings(name).length > 0 ? domainSpellings(name) : ['']],
      ['jumpGroup', m.jumpGroup, present(input.jumpGroup)],
      ['email', m.email, present(user.email)],
    ];
    for (const [field, wanted, actual] of checks) {
      if (wanted === undefined) continue;
      const shown =
        field === 'domain' ? quote(givenDomain(name)) : actual === undefined ? '(absent)' : quote(actual[0] ?? '');
      if (actual === undefined || !this.#fits(wanted, actual, groups))
        return `${field} ${shown} does not match ${quote(wanted)}`;
    }
    return undefined;
  }

  /** True when one of the candidate values fits; regex named groups are collected into `groups`. */
  #fits(wanted: string, candidates: string[], groups: Record<string, string>): boolean {
    const re = this.#compiled.get(wanted);
    for (const value of candidates) {
      if (re === undefined) {
        if (value.toLowerCase() === wanted.toLowerCase()) return true;
        continue;
      }
      const hit = re.exec(value);
      if (hit) {
        Object.assign(groups, hit);
        return true;
      }
    }
    return false;
  }
}

/** The error a console user receives for a decision that yields no vault user. */
export function refusal(d: Exclude<MappingDecision, { outcome: 'mapped' }>, username: string): ServiceError {
  if (d.outcome === 'denied') {
    return new ServiceError('mapping.denied', `Credential injection refused by mapping rule "${d.rule}": ${d.reason}`, {
      op: 'broker.map',
      details: { rule: d.rule },
    });
  }
  // The hint names the configuration: for the log and test-settings, never for the console user.
  return new ServiceError('mapping.unmapped', `No user-mapping rule matches console user "${username}"`, {
    op: 'broker.map',
    details: { hint: d.hint },
  });
}

/**
 * For an administrator: a rule that would map this user, in the YAML of `userMapping.rules`. A
 * domain user gets a rule for the whole domain (to the UPN when the DNS domain is known, as
 * Password Safe names directory users). A user without a domain (a local or RADIUS user of the
 * appliance) gets a rule for every such user, to the UPN under the directory's DNS domain (the
 * one in `userMapping.domains`): the bare name, passed through, is a user the vault refuses.
 */
function ruleHint(name: ConsoleName, domains: Record<string, string>): string {
  const domain = name.netbios ?? name.dnsDomain;
  let rule: string;
  let after = '';
  if (domain) {
    rule = `- { name: ${lc(domain).split('.')[0]}-users, match: { domain: ${domain} }, transform: { domain: ${name.dnsDomain ? 'to-upn' : 'keep'} } }`;
  } else {
    const suffix = Object.values(domains)[0];
    rule = `- { name: users-without-domain, match: { domain: "" }, transform: { domain: to-upn, upnSuffix: ${suffix ?? 'YOUR-DNS-DOMAIN'} } }`;
    if (!suffix) after = ' (YOUR-DNS-DOMAIN: the DNS domain of the vault users, e.g. corp.example.com)';
  }
  return `no user-mapping rule matched ${name.given || '(empty username)'}; add e.g. \`${rule}\`${after} to userMapping.rules, then check it with ecm-bridge test-settings`;
}

function lc(s: string): string {
  return s.toLowerCase();
}

/** Quotes a value for the trace without JSON escaping (backslashes in `CORP\\jdoe` stay single). */
function quote(v: string): string {
  return `"${v}"`;
}

function present(v: string | undefined): string[] | undefined {
  return v === undefined || v === '' ? undefined : [v];
}

function buildVaultUser(
  rule: MappingRule,
  name: ConsoleName,
  email: string | undefined,
  groups: Record<string, string>,
): { vaultUser: string; how: string } | { skip: string } {
  const t = rule.transform;
  if (name.account === '') return { skip: `"${name.given}" has no account name` };
  let out: string;
  let how: string;
  if (rule.vaultUser !== undefined) {
    const fields: Fields = {
      user: name.account,
      username: name.given,
      domain: givenDomain(name),
      netbios: name.netbios,
      dnsDomain: name.dnsDomain,
      upn: name.dnsDomain ? `${name.account}@${name.dnsDomain}` : undefined,
      email,
      ...groups,
    };
    const missing = [...rule.vaultUser.matchAll(/\{([^{}]*)\}/g)].map((x) => x[1] ?? '').find((k) => !fields[k]);
    if (missing !== undefined)
      return { skip: `template ${rule.vaultUser} needs {${missing}}, which is empty for "${name.given}"` };
    out = rule.vaultUser.replace(/\{([^{}]*)\}/g, (_, k: string) => fields[k] ?? '');
    how = `template ${rule.vaultUser}`;
  } else {
    const mode = t?.domain ?? 'keep';
    switch (mode) {
      case 'keep':
        out = name.given;
        break;
      case 'strip':
        out = name.account;
        break;
      case 'to-upn': {
        const suffix = t?.upnSuffix ?? name.dnsDomain;
        if (!suffix)
          return {
            skip: `to-upn: "${name.given}" has ${name.netbios ? `domain ${name.netbios}, which userMapping.domains does not map` : 'no domain'} and the rule sets no upnSuffix`,
          };
        out = `${name.account}@${suffix}`;
        break;
      }
      case 'to-netbios': {
        const netbios = t?.netbiosDomain ?? name.netbios;
        if (!netbios)
          return {
            skip: `to-netbios: "${name.given}" has ${name.dnsDomain ? `domain ${name.dnsDomain}, which userMapping.domains does not map` : 'no domain'} and the rule sets no netbiosDomain`,
          };
        out = `${netbios}\\${name.account}`;
        break;
      }
    }
    how = `domain ${mode}`;
  }
  const kase = t?.case ?? 'preserve';
  if (kase === 'lower') out = out.toLowerCase();
  if (kase === 'upper') out = out.toUpperCase();
  if (kase !== 'preserve') how += `, case ${kase}`;
  if (out.trim() === '') return { skip: 'the resulting vault user is empty' };
  return { vaultUser: out, how };
}
