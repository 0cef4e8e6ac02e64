import { createExplainer } from '../app/checks/test-settings-tool.js';
import type { ExplainInput } from '../broker/broker.js';
import type { ConsoleUser } from '../broker/broker-port.js';
import { endpointFromArg } from '../broker/endpoint-arg.js';
import { renderExplainReport } from '../broker/explain-render.js';
import { EXIT, usage, write, type CommandRun } from './command.js';
import { loadOrReport } from './config-commands.js';

/**
 * The ECM Configurator's "Test Settings", for ecm-bridge: runs the broker's steps for one
 * console user and endpoint against the real vault (mapping trace, vault user, matched systems,
 * credentials that would be offered, policy verdicts) without contacting the appliance. With
 * --checkout it also releases the first offered credential and checks it in at once; the secret
 * is never printed. Leases live in a scratch in-memory store: nothing outlives the command.
 */
export const runTestSettings: CommandRun = async (args, io, command) => {
  const v = args.values as Record<string, string | boolean | undefined>;
  const file = (v.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
  const username = v.user as string | undefined;
  const endpointArg = v.endpoint as string | undefined;
  const timeoutMs = Number(v['timeout-ms'] ?? 20_000);
  if (!file || !username || !endpointArg || !Number.isInteger(timeoutMs) || timeoutMs <= 0)
    return usage(io, command.usage);
  // The appliance is never contacted: its section (and secrets) need not be set here.
  const loaded = loadOrReport(file, io, { ignoreSections: ['sites'] });
  if (!loaded.config) return loaded.exit;
  const config = loaded.config;
  if (!config.vault || !config.broker) {
    write(io.stderr, `${file}: test-settings needs the \`vault\` and \`broker\` sections`);
    return EXIT.config;
  }

  const explainer = createExplainer(config);
  const provider = v.provider ?? v['provider-kind'];
  const user: ConsoleUser = {
    username,
    ...(provider !== undefined && {
      securityProvider: {
        ...(v.provider !== undefined && { name: String(v.provider) }),
        ...(v['provider-kind'] !== undefined && { kind: String(v['provider-kind']) }),
      },
    }),
    ...(v.email !== undefined && { email: String(v.email) }),
  };
  const input: ExplainInput = {
    user,
    endpoint: endpointFromArg(endpointArg),
    ...(v['jump-group'] !== undefined && { jumpGroup: String(v['jump-group']) }),
    ...(v['external-key'] !== undefined && { externalKey: String(v['external-key']) }),
    checkout: v.checkout === true,
  };
  try {
    const report = await explainer.explain(input, AbortSignal.timeout(timeoutMs));
    const notices = explainer.notices();
    io.stdout.write(
      v.json === true
        ? JSON.stringify({ ...report, ...(notices.length > 0 && { notices }) }, null, 2) + '\n'
        : renderExplainReport(input, report) + notices.map((n) => `hint: ${n}\n`).join(''),
    );
    return report.error ? EXIT.failed : EXIT.ok;
  } finally {
    await explainer.close();
  }
};
