import { ConfigError } from '../platform/config/loader.js';
import { loadConfigFile } from '../app/config-schema.js';
import { createLogger } from '../platform/logger.js';
import { createRuntime } from '../app/runtime.js';
import { BridgeService } from '../app/bridge-service.js';
import { EXIT, type Command } from './command.js';
import { loadOrReport, usage } from './config-commands.js';

export const serve: Command = {
  path: ['serve'],
  summary: 'Run the bridge (ECM channels, broker, reporting worker, ops server)',
  usage: 'ecm-bridge serve --config FILE [--grace-ms N]',
  examples: [
    'ecm-bridge serve --config /etc/ecm-bridge/config.yaml',
    'kill -HUP $(pidof ecm-bridge)   # reload the config',
  ],
  options: { config: { type: 'string', short: 'c' }, 'grace-ms': { type: 'string' } },
  async run(args, io) {
    const file = (args.values.config as string | undefined) ?? io.env.ECM_BRIDGE_CONFIG;
    if (!file) return usage(io, this.usage);
    const graceMs = Number(args.values['grace-ms'] ?? 10_000);
    if (!Number.isInteger(graceMs) || graceMs < 0) return usage(io, this.usage);
    const loaded = loadOrReport(file, io);
    if (!loaded.config) return loaded.exit;
    const log = createLogger(loaded.config.log);
    const rt = createRuntime(log);
    const service = new BridgeService(loaded.config, rt, graceMs);
    try {
      await service.start();
    } catch (e) {
      // Stop what did start (ops server, channels...) so the process can exit with the error.
      await service.stop();
      throw e;
    }
    log.info({ instanceId: rt.instanceId, config: file }, 'ecm-bridge started');
    return runUntilSignal(service, file, io.env, log);
  },
};

/** Serves until SIGTERM/SIGINT (graceful stop, exit 0); SIGHUP reloads the config file. */
export function runUntilSignal(
  service: BridgeService,
  file: string,
  env: Record<string, string | undefined>,
  log: import('pino').Logger,
): Promise<number> {
  let reloading = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      try {
        await service.reload(loadConfigFile(file, { env }));
      } catch (e) {
        service.rejectReload();
        if (e instanceof ConfigError)
          log.error(
            { file, problems: e.problems },
            'configuration reload rejected; keeping the previous configuration',
          );
        else log.error({ err: e }, 'configuration reload failed');
      }
    });
  };
  process.on('SIGHUP', onHup);
  return new Promise((resolve) => {
    const onStop = (signal: string) => {
      log.info({ signal }, 'stopping: no new work, finishing in-flight work');
      process.off('SIGHUP', onHup);
      void reloading
        .then(() => service.stop())
        .then(() => {
          log.info('stopped');
          resolve(EXIT.ok);
        });
    };
    process.once('SIGTERM', () => onStop('SIGTERM'));
    process.once('SIGINT', () => onStop('SIGINT'));
  });
}
