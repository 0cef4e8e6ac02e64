import type { SiteLink } from '../../appliance/channel/site-link.js';
import type { ExplainInput } from '../../broker/broker.js';
import { endpointFromArg } from '../../broker/endpoint-arg.js';
import { renderExplainReport } from '../../broker/explain-render.js';
import {
  EVENTS_SHOWN,
  LEASES_SHOWN,
  MISSING_RECORDINGS_SHOWN,
  QUARANTINE_SHOWN,
  type ReportingEntry,
  type SiteEntry,
  type StatusOverview,
  type StatusSource,
  type TestSettingsAnswer,
  type TestSettingsRequest,
} from '../../http/status-view.js';
import { ConfigError, formatProblem } from '../../platform/config/loader.js';
import { isServiceError } from '../../platform/errors.js';
import { describeFailure } from '../../platform/health.js';
import type { ReportWorker } from '../../reporting/report-worker.js';
import type { Config } from '../config-schema.js';
import { checkDraft, parseDraft } from '../checks/draft-check.js';
import type { Runtime } from '../runtime.js';
import {
  componentHealth,
  readinessSnapshot,
  reportingLagSeconds,
  reportingSiteDetails,
  siteReadiness,
  type ReadinessSnapshot,
} from './status-signals.js';
import type { StoreComponent } from '../units/store-unit.js';
import { listQuarantine } from '../quarantine-list.js';
import { listMissingRecordings } from '../missing-recordings-list.js';
import { createExplainer } from '../checks/test-settings-tool.js';

/** The running units the page reads, found at request time (a reload may have replaced them). */
export interface StatusSourceDeps {
  rt: Runtime;
  /** The configuration the service runs with now. */
  config: () => Config;
  site: (name: string) => SiteLink | undefined;
  reporting: () => ReportWorker | undefined;
  store: () => StoreComponent | undefined;
  /** How long a Test Settings draft may run in its worker (tests shorten it). */
  draftLimitMs?: number;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const failure = (e: unknown) => ({
  error: isServiceError(e) ? describeFailure(e) : 'the store could not be read (see the log)',
});

/** The status page's data: read-only views of the running units and the store; Test Settings without checkout. */
export function createStatusSource(deps: StatusSourceDeps): StatusSource {
  return {
    async overview(): Promise<StatusOverview> {
      const snap = await readinessSnapshot(deps.rt.readiness);
      const config = deps.config();
      const [reporting, leases, events, quarantine, missingRecordings] = await Promise.all([
        reportingView(config, snap, deps),
        leasesView(deps),
        eventsView(deps),
        quarantineView(deps),
        missingRecordingsView(deps),
      ]);
      return {
        generatedAt: new Date(deps.rt.clock.now()).toISOString(),
        ready: snap.ready,
        health: componentHealth(snap),
        sites: config.sites.filter((s) => s.ecm?.enabled).map((s) => siteView(s.name, snap, deps)),
        reporting,
        leases,
        events,
        quarantine,
        missingRecordings,
      };
    },

    async testSettings(req: TestSettingsRequest, signal: AbortSignal): Promise<TestSettingsAnswer> {
      const running = deps.config();
      let config = running;
      if (req.draftYaml !== undefined) {
        const checked = await checkDraft(
          {
            draftYaml: req.draftYaml,
            user: req.user,
            ...(req.provider !== undefined && { provider: req.provider }),
            ...(req.jumpGroup !== undefined && { jumpGroup: req.jumpGroup }),
          },
          deps.draftLimitMs,
        );
        if (checked.kind === 'invalid') return checked;
        try {
          config = draftConfig(req.draftYaml, running);
        } catch (e) {
          if (e instanceof ConfigError)
            return { kind: 'invalid', problems: e.problems.map((p) => formatProblem('draft', p)) };
          throw e;
        }
      }
      const input: ExplainInput = {
        user: { username: req.user, ...(req.provider !== undefined && { securityProvider: { name: req.provider } }) },
        endpoint: endpointFromArg(req.endpoint),
        ...(req.jumpGroup !== undefined && { jumpGroup: req.jumpGroup }),
        checkout: false,
      };
      const explainer = createExplainer(config);
      try {
        const report = await explainer.explain(input, signal);
        const text = renderExplainReport(input, report);
        return {
          kind: 'explained',
          config: req.draftYaml === undefined ? 'running' : 'draft',
          ok: report.error === undefined,
          verdict: text.trimEnd().split('\n').at(-1) ?? '',
          // Without the signed credential ids: the page never hands out anything a console could redeem.
          offered: report.offered.map(({ displayName, source, kind }) => ({ displayName, source, kind })),
          text,
        };
      } finally {
        await explainer.close();
      }
    },
  };
}

/**
 * A pasted draft (already checked in a worker by `checkDraft`), validated with the messages of
 * `config validate`. The vault is reached with the running configuration's connection and
 * credentials; the draft decides what the broker does (mapping, matching, policies, release settings).
 */
function draftConfig(text: string, running: Config): Config {
  const draft = parseDraft(text);
  const vault =
    draft.vault && running.vault
      ? {
          ...running.vault,
          releaseDurationMinutes: draft.vault.releaseDurationMinutes,
          reasonTemplate: draft.vault.reasonTemplate,
          checkinReason: draft.vault.checkinReason,
        }
      : undefined;
  return { ...draft, vault };
}

function siteView(name: string, snap: ReadinessSnapshot, deps: StatusSourceDeps): SiteEntry {
  const link = deps.site(name);
  if (!link) {
    const r = siteReadiness(snap, name);
    return {
      site: name,
      state: 'not running',
      ...(r?.reason && { reason: r.reason }),
      nodes: [],
      lastHour: { answered: 0, refused: 0 },
    };
  }
  const v = link.view();
  return {
    site: name,
    state: v.state,
    ...(v.reason && { reason: v.reason }),
    ...(v.role && { role: v.role }),
    ...(v.group && { group: v.group }),
    ...(v.connectedSince && { connectedSince: v.connectedSince }),
    nodes: v.nodes,
    lastHour: v.lastHour,
  };
}

async function reportingView(
  config: Config,
  snap: ReadinessSnapshot,
  deps: StatusSourceDeps,
): Promise<ReportingEntry[]> {
  if (!config.reporting.enabled) return [];
  const pulls = deps.reporting()?.history.last24h() ?? {};
  const lags = await reportingLagSeconds(deps.rt.metrics);
  const details = reportingSiteDetails(snap);
  return config.sites
    .filter((s) => s.reporting?.enabled)
    .map(({ name }) => {
      const d = details[name];
      return {
        site: name,
        lagSeconds: lags.get(name) ?? d?.lagSeconds ?? null,
        lastSuccessAt: d?.lastSuccessAt ?? null,
        lastError: d?.lastError ? describeFailure(d.lastError) : null,
        pulls: pulls[name] ?? [],
      };
    });
}

async function leasesView(deps: StatusSourceDeps): Promise<StatusOverview['leases']> {
  try {
    const store = deps.store()?.store;
    if (!store) return { error: 'the store is not running' };
    const all = (await store.state.listLeases({})).sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
    return {
      total: all.length,
      shown: all.slice(0, LEASES_SHOWN).map((l) => ({
        site: l.site,
        consoleUser: l.consoleUser,
        vaultUser: l.vaultUser,
        systemName: l.systemName,
        accountName: l.accountName,
        lsid: l.lsid,
        checkedOutAt: l.createdAt.toISOString(),
        expiresAt: l.expiresAt.toISOString(),
      })),
    };
  } catch (e) {
    return failure(e);
  }
}

async function eventsView(deps: StatusSourceDeps): Promise<StatusOverview['events']> {
  try {
    const store = deps.store()?.store;
    if (!store) return { error: 'the store is not running' };
    const events = await store.state.listCredentialEvents({ limit: EVENTS_SHOWN });
    return events.reverse().map((e) => ({
      id: e.id,
      site: e.site,
      outcome: e.outcome,
      consoleUser: e.consoleUser,
      vaultUser: e.vaultUser,
      systemName: e.systemName,
      accountName: e.accountName,
      lsid: e.lsid,
      errorCode: e.errorCode,
      checkoutAt: iso(e.checkoutAt),
      checkinAt: iso(e.checkinAt),
    }));
  } catch (e) {
    return failure(e);
  }
}

async function quarantineView(deps: StatusSourceDeps): Promise<StatusOverview['quarantine']> {
  try {
    const store = deps.store()?.store;
    if (!store) return { error: 'the store is not running' };
    return await listQuarantine(store.reports, QUARANTINE_SHOWN);
  } catch (e) {
    return failure(e);
  }
}

async function missingRecordingsView(deps: StatusSourceDeps): Promise<StatusOverview['missingRecordings']> {
  try {
    const store = deps.store()?.store;
    if (!store) return { error: 'the store is not running' };
    return await listMissingRecordings(store.reports, MISSING_RECORDINGS_SHOWN);
  } catch (e) {
    return failure(e);
  }
}
