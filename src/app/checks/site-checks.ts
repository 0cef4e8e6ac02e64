import type { Agent } from 'undici';
import type { SiteConfig } from '../../appliance/site-config.js';
import { isServiceError, toServiceError } from '../../platform/errors.js';
import { createHttpAgent, trustContext } from '../../platform/http-agent.js';
import type { Check, CheckResult } from './check.js';
import type { Runtime } from '../runtime.js';
import { CommandApiClient, probeNode } from '../../appliance/api/command-api.js';
import type { AccessTokenProvider } from '../../appliance/api/access-token.js';
import { PrimaryFollower } from '../../appliance/topology/primary-follower.js';
import { randomUUID } from 'node:crypto';
import { probeChannel } from '../../appliance/channel/channel-probe.js';
import { SiteTargets } from '../../appliance/topology/site-targets.js';
import { channelTransport } from '../../platform/channel-transport.js';
import { proxyFix } from './proxy-fix.js';
import { ClusterHosts, siteServerName, type TrafficNode } from '../../appliance/topology/cluster-hosts.js';
import { probeTrafficNode } from '../../appliance/topology/traffic-probe.js';

export type AccountKind = 'ecm' | 'reporting';

/** Each permission as /login > Management > API Configuration shows it (get_api_info's name in the detail only). */
const PERMISSION_LABEL: Record<string, string> = {
  perm_ecm: 'Endpoint Credential Manager API: Allow Access',
  perm_reporting: 'Reporting API: Allow Access to Access Session Reports and Recordings',
  perm_reporting_support: 'Reporting API: Allow Access to Support Session Reports and Recordings',
  perm_command: 'Command API: Read-Only (or Full Access)',
};
const quoted = (perms: string[]) => perms.map((p) => `"${PERMISSION_LABEL[p] ?? p}"`).join(' and ');
const API_CONFIGURATION = '/login > Management > API Configuration';

/** The fix line for a failed call, by error code. */
function fixFor(e: unknown, site: SiteConfig, index: number, kind?: AccountKind): string {
  const err = toServiceError(e);
  switch (err.code) {
    case 'appliance.tls':
      return tlsFix(err.details?.tlsCode, err.details?.tlsName, site, index);
    case 'config.ca_unreadable':
      return `point sites[${index}].caFile at a readable PEM file holding the issuing CA's certificate`;
    case 'appliance.auth_failed':
      return `check sites[${index}].${kind ?? 'ecm'}.clientId and clientSecret against ${API_CONFIGURATION} (regenerating the secret invalidates the old one)`;
    case 'appliance.permission_missing':
      return `in ${API_CONFIGURATION}, edit the API account and tick ${quoted(['perm_command'])}`;
    case 'appliance.xml_api_disabled':
      return `in ${API_CONFIGURATION}, tick "Enable XML API" and save (the Command and Reporting APIs are off for every account)`;
    case 'appliance.unavailable':
      return `check DNS, firewall and proxy from this host to ${new URL(site.url).host}, and the appliance's health`;
    case 'proxy.refused':
    case 'proxy.auth_failed':
    case 'proxy.unreachable':
    case 'proxy.unresolvable':
      return proxyFix(err.code, `sites[${index}].proxy`);
    default:
      return 'read the message above; run with log.level debug for details';
  }
}

/**
 * The fix for a TLS verification failure, by its code: only an unknown issuer is fixed by caFile;
 * a name mismatch by the name verified (`sites[].tlsServerName`, else the site URL's host, for
 * the URL and every node).
 */
function tlsFix(code: unknown, checked: unknown, site: SiteConfig, index: number): string {
  const name = typeof checked === 'string' ? checked : (siteServerName(site) ?? new URL(site.url).hostname);
  switch (code) {
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the appliance's certificate does not name ${name}, the name the site URL and its nodes are verified against (sites[${index}].tlsServerName, else the site URL's host): set sites[${index}].tlsServerName to the name the certificate carries, or give both nodes one certificate naming the site name, as the failover guide asks; caFile cannot fix this`;
    case 'CERT_HAS_EXPIRED':
      return 'renew the certificate on the appliance (/appliance > Security > Certificates); caFile cannot fix this';
    case 'CERT_NOT_YET_VALID':
      return "check the appliance's and this host's clocks; caFile cannot fix this";
    default:
      return `add the CA that issued ${new URL(site.url).host}'s certificate to sites[${index}].caFile`;
  }
}

/**
 * The root cause of a failed call to a site, shared by the site and reporting checks: a wrong
 * secret or a missing permission concerns one API account; TLS, DNS or a down appliance concern
 * every call to the site.
 */
export function siteCause(site: string, code: string, kind: AccountKind): string {
  const perAccount = code === 'appliance.auth_failed' || code === 'appliance.permission_missing';
  return `site:${site}:${code}${perAccount ? `:${kind}` : ''}`;
}

/**
 * One site's shared clients for its checks: one agent, and per account one SiteTargets whose
 * token source per origin every check reuses (one token per account and origin per run). OAuth
 * and the Command API go where `serve` goes: through a PrimaryFollower, to the resolved primary
 * node when `nodes` are set (never to `sites[].url`, which the bridge host may not resolve).
 */
class SiteProbe {
  readonly agent: Agent;
  readonly cluster: ClusterHosts;
  readonly #targets = new Map<AccountKind, SiteTargets>();
  readonly #followers = new Map<AccountKind, PrimaryFollower>();

  constructor(
    readonly site: SiteConfig,
    readonly index: number,
    private readonly rt: Runtime,
  ) {
    this.cluster = new ClusterHosts(site);
    this.agent = createHttpAgent({
      connectTimeoutMs: site.timeouts.connectMs,
      requestTimeoutMs: site.timeouts.requestMs,
      caFile: site.caFile,
      verifyNames: this.cluster.verifyNames(),
      ...(site.proxy ? { proxy: site.proxy } : {}),
    });
  }

  targets(kind: AccountKind): SiteTargets {
    let t = this.#targets.get(kind);
    if (!t) {
      const account = this.site[kind] as NonNullable<SiteConfig['ecm']>;
      t = new SiteTargets(this.site, account, this.agent, this.rt.clock, this.rt.log);
      this.#targets.set(kind, t);
    }
    return t;
  }

  /** The account's token on the node `serve` would use. */
  tokens(kind: AccountKind): AccessTokenProvider {
    return this.#follower(kind);
  }

  commands(kind: AccountKind): CommandApiClient {
    const follower = this.#follower(kind);
    return new CommandApiClient({
      baseUrl: new URL(this.site.url).origin,
      site: this.site.name,
      tokens: follower,
      dispatcher: follower.dispatcher,
      clock: this.rt.clock,
    });
  }

  /** The origin `serve` would use for this account now (the site URL without `nodes`). */
  async origin(kind: AccountKind, signal: AbortSignal): Promise<string> {
    return (await this.#follower(kind).target(signal)).origin;
  }

  #follower(kind: AccountKind): PrimaryFollower {
    let f = this.#followers.get(kind);
    if (!f) {
      f = new PrimaryFollower(this.site.url, this.targets(kind), this.agent);
      this.#followers.set(kind, f);
    }
    return f;
  }
}

async function guarded(
  probe: SiteProbe,
  kind: AccountKind | undefined,
  fn: () => Promise<CheckResult>,
): Promise<CheckResult> {
  try {
    return await fn();
  } catch (e) {
    const err = toServiceError(e);
    return {
      ok: false,
      detail: isServiceError(e) ? err.message : `unexpected error: ${(e as Error).message}`,
      fix: fixFor(e, probe.site, probe.index, kind),
      // A wrong secret concerns one account; TLS, DNS or a down appliance concern every call to the site.
      cause: siteCause(probe.site.name, err.code, kind ?? 'ecm'),
    };
  }
}

/**
 * `ecm-bridge check` lines for every site: OAuth of each configured API account, its
 * `get_api_info` permissions (naming each missing one), `check_health`, and each failover node.
 */
export function siteChecks(sites: readonly SiteConfig[], rt: Runtime): Check[] {
  return sites.flatMap((site, index) => {
    const probe = new SiteProbe(site, index, rt);
    const component = `site:${site.name}`;
    const checks: Check[] = [];
    const kinds = (['ecm', 'reporting'] as const).filter((k) => site[k]?.enabled);
    for (const kind of kinds) {
      const clientId = (site[kind] as NonNullable<SiteConfig['ecm']>).clientId;
      checks.push({
        component,
        name: `oauth ${kind}`,
        run: (signal) =>
          guarded(probe, kind, async () => {
            await probe.tokens(kind).token(signal);
            return { ok: true, detail: `token issued to ${clientId}` };
          }),
      });
      checks.push({
        component,
        name: `permissions ${kind}`,
        run: (signal) =>
          guarded(probe, kind, async () => {
            const info = await probe.commands(kind).apiInfo(signal);
            const required =
              kind === 'ecm'
                ? ['perm_ecm', ...(site.nodes.length > 0 ? ['perm_command'] : [])]
                : [
                    site.product === 'rs' ? 'perm_reporting_support' : 'perm_reporting',
                    // The failback re-read asks the primary for its last data sync.
                    ...(site.nodes.length > 0 ? ['perm_command'] : []),
                  ];
            const missing = required.filter((p) => !granted(info.permissions[p]));
            if (missing.length === 0) return { ok: true, detail: `${clientId} has ${quoted(required)}` };
            return {
              ok: false,
              detail: `${clientId} lacks ${quoted(missing)} (${missing.join(', ')})`,
              fix: `in ${API_CONFIGURATION}, edit API account ${clientId} and tick ${quoted(missing)}${missing.includes('perm_command') ? ' (read-only Command API is needed for health-aware failover)' : ''}`,
              cause: siteCause(site.name, 'appliance.permission_missing', kind),
            };
          }),
      });
    }
    const healthKind = kinds[0];
    if (healthKind) {
      checks.push({
        component,
        name: 'check_health',
        run: (signal) =>
          guarded(probe, healthKind, async () => {
            let h;
            try {
              h = await probe.commands(healthKind).checkHealth(signal);
            } catch (e) {
              if (!isServiceError(e, 'appliance.permission_missing')) throw e;
              // Without Command API permission only the unauthenticated probe is possible.
              const p = await probeNode(await probe.origin(healthKind, signal), probe.agent, site.name, signal);
              const note = `failover role unknown: the API account lacks ${quoted(['perm_command'])}`;
              return p.healthy
                ? { ok: true, detail: `${p.detail}; ${note}` }
                : { ok: false, detail: `${p.detail}; ${note}`, fix: 'check the appliance status page (/appliance)' };
            }
            const what = `${h.hostname ?? site.url} ${h.version ?? ''} failover role ${h.failoverRole}`.replace(
              /\s+/g,
              ' ',
            );
            if (!h.success)
              return {
                ok: false,
                detail: `unhealthy: ${h.errorMessage ?? 'no reason given'} (${what})`,
                fix: 'check the appliance status page (/appliance)',
              };
            if (h.failoverRole === 'backup')
              return {
                ok: false,
                detail: `the site URL reaches the backup (${what})`,
                fix: `point sites[${index}].url at the site hostname, which follows the primary`,
              };
            return { ok: true, detail: what };
          }),
      });
    }
    if (site.nodes.length > 0 && healthKind) checks.push(failoverCheck(probe, healthKind, component));
    if (site.ecm?.enabled) checks.push(channelCheck(probe, component));
    for (const node of site.nodes) {
      checks.push({
        component,
        name: `node ${node}`,
        run: (signal) =>
          guarded(probe, undefined, async () => {
            const r = await probeNode(`${new URL(site.url).protocol}//${node}`, probe.agent, site.name, signal);
            return r.healthy
              ? { ok: true, detail: r.detail }
              : {
                  ok: false,
                  detail: r.detail,
                  fix: `check that ${node} is up, or remove it from sites[${index}].nodes`,
                };
          }),
      });
    }
    for (const node of probe.cluster.trafficNodes()) checks.push(trafficCheck(probe, node, kinds, component));
    return checks;
  });
}

/**
 * One Atlas traffic node: reachable at its (mapped) address, TLS verified against its public
 * name, and accepting the token the primary issues to the reporting account (which downloads the
 * recordings; the ECM account when reporting is off). A failed mint is the OAuth line's cause;
 * a node's own failure is its own cause, so one bad node never hides another.
 */
function trafficCheck(probe: SiteProbe, node: TrafficNode, kinds: AccountKind[], component: string): Check {
  const kind = kinds.includes('reporting') ? 'reporting' : kinds[0];
  const at = `sites[${probe.index}].atlas`;
  return {
    component,
    name: `traffic node ${node.node}`,
    run: (signal) =>
      guarded(probe, kind, async () => {
        const token = kind ? await probe.tokens(kind).token(signal) : undefined;
        const cause = `site:${probe.site.name}:traffic:${node.node}`;
        const mapped = node.origin !== `https://${node.node}`;
        try {
          const r = await probeTrafficNode(node, probe.agent, probe.site.name, token, signal);
          if (r.ok) return { ok: true, detail: r.detail };
          return {
            ok: false,
            detail: r.detail,
            cause,
            fix: r.tokenRefused
              ? `the node does not accept the primary's tokens: check that it is a member of this cluster (/login > Atlas)`
              : `check the traffic node's health on its /appliance page, or remove it from ${at}.trafficNodes`,
          };
        } catch (e) {
          const err = toServiceError(e);
          const via = mapped ? ` (${at}.hostMap maps it to ${new URL(node.origin).host})` : '';
          return {
            ok: false,
            detail: err.message,
            cause: `${cause}:${err.code}`,
            fix:
              err.code === 'appliance.tls'
                ? trafficTlsFix(err.details?.tlsCode, node, via, probe.index)
                : `check DNS, firewall and proxy from this host to ${node.node}${via} on its port`,
          };
        }
      }),
  };
}

/** A traffic node's TLS fix: a name mismatch is the host map's or the node's certificate's, only an unknown issuer caFile's. */
function trafficTlsFix(code: unknown, node: TrafficNode, via: string, index: number): string {
  const name = new URL(`https://${node.node}`).hostname;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the certificate served for ${node.node}${via} does not name ${name}: check that the host map points at that traffic node and that its certificate carries its public name; caFile cannot fix this`;
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return `renew ${node.node}'s certificate, or check its and this host's clocks; caFile cannot fix this`;
  return `add the CA that issued ${node.node}'s certificate to sites[${index}].caFile`;
}

/** Each node's failover role and last data sync, and whether exactly one is primary. */
function failoverCheck(probe: SiteProbe, kind: AccountKind, component: string): Check {
  return {
    component,
    name: 'failover roles',
    run: (signal) =>
      guarded(probe, kind, async () => {
        const targets = probe.targets(kind);
        let chosen: string | undefined;
        let warning: string | undefined;
        let failure: string | undefined;
        try {
          const t = await targets.resolve(signal);
          chosen = new URL(t.origin).host;
          warning = t.warning;
        } catch (e) {
          if (!isServiceError(e, 'appliance.unavailable')) throw e;
          failure = e.message;
        }
        const nodes = targets
          .nodes()
          .map((n) => `${n.node} ${n.healthy ? n.role : 'down'} (last data sync ${n.lastDataSyncAt ?? 'unknown'})`)
          .join('; ');
        if (failure)
          return { ok: false, detail: `${failure}`, fix: 'wait for the failover to finish, or check the pair' };
        return {
          ok: true,
          detail: `${nodes}; using ${chosen}${warning ? `; ${warning}` : ''}`,
          ...(warning ? { warning: true, fix: 'two nodes say primary: repair the failover pair' } : {}),
        };
      }),
  };
}

/**
 * Opens the ECM channel once on the node the service would use and closes it: a site that
 * refuses ECM connections fails here, and the welcome says where the bridge would stand in its
 * ECM group.
 */
function channelCheck(probe: SiteProbe, component: string): Check {
  const site = probe.site;
  return {
    component,
    name: 'ecm channel',
    run: (signal) =>
      guarded(probe, 'ecm', async () => {
        const target = await probe.targets('ecm').resolve(signal);
        const r = await probeChannel({
          origin: target.origin,
          token: await target.tokens.token(signal),
          ...(site.caFile ? { trust: trustContext(site.caFile) } : {}),
          transport: channelTransport(target.origin, {
            verifyNames: probe.cluster.verifyNames(),
            ...(site.proxy ? { proxy: site.proxy } : {}),
            connectTimeoutMs: site.timeouts.connectMs,
          }),
          timeoutMs: site.timeouts.connectMs + site.timeouts.requestMs,
          instanceId: `check-${randomUUID()}`,
        });
        const host = new URL(target.origin).host;
        if (!r.opened) {
          const why = r.status
            ? `${host} refused the ECM channel (HTTP ${r.status}${r.message ? `: ${r.message}` : ''})`
            : `cannot open the ECM channel on ${host}: ${r.error?.message ?? 'no answer'}`;
          return {
            ok: false,
            detail: why,
            // A missing perm_ecm also refuses the channel: shown once, as the permission line.
            ...(r.status === 403 && { cause: siteCause(site.name, 'appliance.permission_missing', 'ecm') }),
            fix:
              r.status === 403
                ? `allow ECM connections on the site and grant ${PERMISSION_LABEL.perm_ecm} to ${site.ecm?.clientId} (/login > Management > API Configuration)`
                : r.status === 503
                  ? 'the node is backup or restarting: list the pair in nodes, or retry after the failover'
                  : 'check the network path (proxy, firewall) to the site on 443',
          };
        }
        const w = r.welcome;
        const opened = `opened and closed on ${host}: ECM group ${w.group}`;
        if (w.role === 'standby')
          return {
            ok: true,
            warning: true,
            detail: `${opened}; an older ECM already holds the group: this bridge would stand by and get no requests while it stays connected`,
            fix: `if that ECM is not another replica of this bridge, give this bridge its own API account (its own ECM group)`,
          };
        return { ok: true, detail: `${opened}; this bridge would be the active ECM of its group` };
      }),
  };
}

/** `1`, `full` and `read_only` grant; `0`, `deny` and absent do not. */
function granted(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value !== 'deny';
}
