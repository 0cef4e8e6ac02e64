import { readFileSync } from 'node:fs';
import { OPS, type JumpItemType } from '../protocol/ecm-protocol.js';
import { ServiceError } from '../platform/errors.js';
import { ConsoleDriver } from '../simulators/appliance/console-driver.js';
import type { ConsoleRequestBody } from '../simulators/appliance/sim-console-routes.js';
import { EXIT, usage, write, type CommandRun } from './command.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The op's params from the command line; a missing one is a usage error naming the option. */
function paramsFor(op: string, v: Record<string, unknown>): Record<string, unknown> {
  const need = (name: string) => {
    const value = str(v[name]);
    if (!value) throw new ServiceError('cli.usage', `--op ${op} needs --${name}`, { op: 'sim.console' });
    return value;
  };
  switch (op) {
    case 'credentials.list':
      return { purpose: str(v.purpose) ?? 'login' };
    case 'credentials.get':
      return { credentialId: need('credential-id') };
    case 'credentials.release':
      return str(v['lease-id']) ? { leaseId: v['lease-id'] } : { credentialId: need('credential-id') };
    case 'jump.search':
      return { query: need('query'), ...(str(v.limit) ? { limit: Number(v.limit) } : {}) };
    default:
      return {};
  }
}

export const runSimConsole: CommandRun = async (args, io, command) => {
  const v = args.values;
  const url = str(v.url);
  const ca = str(v.ca);
  if (!url || !ca) return usage(io, command.usage);
  if (!/^https:\/\/[^/@]+(\/|$)/i.test(url))
    throw new ServiceError(
      'cli.usage',
      `--url must be an https: URL without user:password@ (got ${JSON.stringify(url.slice(0, 200))})`,
      {
        op: 'sim.console',
      },
    );
  let caPem: string;
  try {
    caPem = readFileSync(ca, 'utf8');
  } catch (e) {
    throw new ServiceError('cli.usage', `cannot read --ca ${ca} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      op: 'sim.console',
    });
  }
  const driver = new ConsoleDriver(url.replace(/\/$/, ''), caPem);
  try {
    if (v.status) {
      write(io.stdout, JSON.stringify(await driver.status(), null, 2));
      return EXIT.ok;
    }
    const op = str(v.op);
    const user = str(v.user);
    if (!op || !user) return usage(io, command.usage);
    if (!(OPS as readonly string[]).includes(op))
      write(io.stderr, `note: ${op} is not a protocol v1 op (${OPS.join(', ')}); sending it anyway`);
    let params: Record<string, unknown>;
    try {
      params = paramsFor(op, v);
    } catch (e) {
      write(io.stderr, `error [cli.usage]: ${(e as Error).message}`);
      return EXIT.usage;
    }
    const body: ConsoleRequestBody = { op, user: { username: user }, params };
    if (str(v.group)) body.group = str(v.group);
    if (str(v.endpoint) || str(v.ip)) body.endpoint = { hostname: str(v.endpoint), ip: str(v.ip) };
    if (str(v['jump-item']))
      body.jumpItem = {
        name: str(v['jump-item']),
        type: (str(v['jump-type']) ?? 'rdp') as JumpItemType,
        ...(str(v['jump-group']) ? { jumpGroup: { name: str(v['jump-group']) } } : {}),
      };
    if (str(v.lsid) || str(v['external-key']))
      body.session = { lsid: str(v.lsid), externalKey: str(v['external-key']) };
    if (str(v['deadline-ms'])) body.deadlineMs = Number(v['deadline-ms']);
    const outcome = await driver.send(body);
    write(io.stdout, JSON.stringify(outcome, null, 2));
    return outcome.error ? EXIT.failed : EXIT.ok;
  } finally {
    await driver.close();
  }
};
