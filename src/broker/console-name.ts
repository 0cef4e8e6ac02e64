/**
 * A console username taken apart. BeyondTrust consoles send whatever the security provider
 * returned: `CORP\jdoe` (NetBIOS), `jdoe@corp.example.com` (UPN) or a bare `jdoe`, and the vault
 * often knows the same person under another of those forms. The broker converts between them
 * with the `userMapping.domains` table (NETBIOS -> DNS domain).
 */
export interface ConsoleName {
  /** The username exactly as the console sent it. */
  given: string;
  /** The account part without any domain. */
  account: string;
  /** NetBIOS domain: as given (`CORP\`) or derived from the DNS domain through the table. */
  netbios?: string;
  /** DNS domain: as given (`@corp.example.com`) or derived from the NetBIOS domain through the table. */
  dnsDomain?: string;
  /** Which form the console used. */
  form: 'netbios' | 'upn' | 'bare';
}

/** Parses a console username; `domains` maps NetBIOS names to DNS domains (keys case-insensitive). */
export function parseConsoleName(username: string, domains: Record<string, string>): ConsoleName {
  const given = username.trim();
  const slash = given.indexOf('\\');
  if (slash > 0) {
    const prefix = given.slice(0, slash);
    const account = given.slice(slash + 1);
    // `corp.example.com\jdoe`: some providers put the DNS domain before the backslash; a NetBIOS
    // name has no dot, so a dotted prefix is the DNS domain and the table gives its NetBIOS name.
    if (prefix.includes('.')) {
      const netbios = reverseLookup(domains, prefix);
      return { given, account, dnsDomain: prefix, ...(netbios && { netbios }), form: 'netbios' };
    }
    const dnsDomain = lookup(domains, prefix);
    return { given, account, netbios: prefix, ...(dnsDomain && { dnsDomain }), form: 'netbios' };
  }
  const at = given.lastIndexOf('@');
  if (at > 0 && at < given.length - 1) {
    const dnsDomain = given.slice(at + 1);
    const netbios = reverseLookup(domains, dnsDomain);
    return { given, account: given.slice(0, at), dnsDomain, ...(netbios && { netbios }), form: 'upn' };
  }
  return { given, account: slash === 0 ? given.slice(1) : given, form: 'bare' };
}

/** The domain as the console wrote it ('' when there is none). */
export function givenDomain(name: ConsoleName): string {
  if (name.form === 'netbios') return name.netbios ?? name.dnsDomain ?? '';
  if (name.form === 'upn') return name.dnsDomain ?? '';
  return '';
}

/** Every spelling of the user's domain: as given and its equivalent through the table. */
export function domainSpellings(name: ConsoleName): string[] {
  return [name.netbios, name.dnsDomain].filter((d): d is string => d !== undefined && d !== '');
}

function lookup(domains: Record<string, string>, netbios: string): string | undefined {
  const key = Object.keys(domains).find((k) => k.toLowerCase() === netbios.toLowerCase());
  return key === undefined ? undefined : domains[key];
}

function reverseLookup(domains: Record<string, string>, dnsDomain: string): string | undefined {
  return Object.entries(domains).find(([, d]) => d.toLowerCase() === dnsDomain.toLowerCase())?.[0];
}
