import { isIP } from 'node:net';
import type { Endpoint } from './broker-port.js';
import type { EndpointMatchingConfig } from './broker-config.js';
import type { AccountSource, VaultAccount, VaultTarget } from '../vault/vault-port.js';

/** The endpoint normalised for the vault, with what was dropped and why (for test-settings). */
export interface MatchedTarget extends VaultTarget {
  /** Names that came from `endpointMatching.aliases`. */
  aliasNames: string[];
  notes: string[];
}

/** An account the broker may offer, with where it came from. */
export interface OfferableAccount extends VaultAccount {
  viaAlias: boolean;
}

/**
 * Endpoint -> VaultTarget, and the per-Jump-Group narrowing of what the vault returned.
 * Names are lower-cased, hostname and FQDN both count, and an FQDN also contributes its short
 * name (vault systems are often registered by short name); IPs lose their port and brackets and IPv6 is canonicalised, so
 * `[2001:DB8:0::1]:22` and `2001:db8::1` are the same target.
 */
export class EndpointMatcher {
  constructor(private readonly config: EndpointMatchingConfig) {}

  target(endpoint: Endpoint): MatchedTarget {
    const notes: string[] = [];
    const names = new Set<string>();
    for (const raw of [endpoint.hostname, endpoint.fqdn]) {
      const n = normaliseName(raw);
      if (n === undefined) continue;
      if (isIP(n) !== 0) continue; // a console that puts an IP in hostname: handled below
      names.add(n);
      const short = n.split('.')[0];
      if (short && short !== n) names.add(short);
    }
    const ips = new Set<string>();
    for (const raw of [endpoint.ip, endpoint.hostname]) {
      if (typeof raw !== 'string' || raw === '') continue;
      const ip = normaliseIp(raw);
      if (ip !== undefined) ips.add(ip);
      else if (raw === endpoint.ip) notes.push(`ignored ip ${JSON.stringify(raw)}: not an IPv4/IPv6 address`);
    }
    const aliasNames: string[] = [];
    for (const [key, values] of Object.entries(this.config.aliases)) {
      if (!names.has(key.toLowerCase()) && !ips.has(key.toLowerCase())) continue;
      for (const v of values) {
        const n = v.toLowerCase();
        if (!names.has(n)) {
          names.add(n);
          aliasNames.push(n);
        }
      }
    }
    return { names: [...names], ips: [...ips], aliasNames, notes };
  }

  /**
   * Applies the Jump Group's restrictions (workgroups, sources) and the source preference order;
   * `why` receives one line per account dropped.
   */
  narrow(
    accounts: VaultAccount[],
    target: MatchedTarget,
    jumpGroup: string | undefined,
    why: (line: string) => void = () => {},
  ): OfferableAccount[] {
    const rule =
      jumpGroup === undefined
        ? undefined
        : this.config.jumpGroups.find((g) => g.jumpGroup.toLowerCase() === jumpGroup.toLowerCase());
    const workgroups = rule?.workgroups?.map((w) => w.toLowerCase());
    const kept = accounts.filter((a) => {
      if (workgroups && !workgroups.includes((a.workgroup ?? '').toLowerCase())) {
        why(
          `${a.accountName} on ${a.systemName}: workgroup ${a.workgroup ?? '(none)'} not allowed for Jump Group "${rule?.jumpGroup}"`,
        );
        return false;
      }
      if (rule?.sources && !rule.sources.includes(a.source)) {
        why(`${a.accountName} on ${a.systemName}: ${a.source} accounts not allowed for Jump Group "${rule.jumpGroup}"`);
        return false;
      }
      return true;
    });
    const order: AccountSource[] = rule?.preferSources ?? this.config.preferSources;
    const rank = (s: AccountSource) => {
      const i = order.indexOf(s);
      return i === -1 ? order.length : i;
    };
    const aliases = new Set(target.aliasNames);
    return kept
      .map((a, i) => ({ a, i }))
      .sort((x, y) => rank(x.a.source) - rank(y.a.source) || x.i - y.i)
      .map(({ a }) => ({ ...a, viaAlias: aliases.has(a.systemName.toLowerCase()) }));
  }
}

function normaliseName(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  let n = raw.trim().toLowerCase().replace(/\.$/, '');
  // A name with a port (`web01:3389`) but not an IPv6 address.
  const port = /^([^:[\]]+):\d{1,5}$/.exec(n);
  if (port?.[1]) n = port[1];
  return n === '' ? undefined : n;
}

/** A bare, canonical IP (IPv6 compressed and lower-case, IPv4-mapped IPv6 as IPv4), or undefined. */
export function normaliseIp(raw: string): string | undefined {
  let s = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed?.[1]) s = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  // Zone index (fe80::1%eth0) means nothing to a vault. indexOf, not /%.*$/: that pattern
  // retries from every `%` and is quadratic on a crafted address.
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return s;
  if (family !== 6) return undefined;
  const canonical = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped?.[1] && mapped[2]) {
    const hi = parseInt(mapped[1], 16);
    const lo = parseInt(mapped[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return canonical;
}
