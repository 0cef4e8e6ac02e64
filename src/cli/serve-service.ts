import module from 'node:module';
import { ConfigError } from '../platform/config/loader.js';
import { loadConfigFile } from '../app/config-schema.js';
import { createLogger } from '../platform/logger.js';
import { createRuntime } from '../app/runtime.js';
import { BridgeService } from '../app/bridge-service.js';
import type { EarlyStoreOpen } from '../app/early-store.js';
import { EXIT, type CliIo } from './command.js';
import { loadOrReport } from './config-commands.js';

/**
 * The body of `ecm-bridge serve` once its store open has begun (src/cli/serve-command.ts): loads
 * and validates the config, starts the units (the store unit takes `earlyStore`) and serves until
 * a signal stops it.
 */
export async function serveUntilStopped(
  file: string,
  graceMs: number,
  io: CliIo,
  earlyStore: EarlyStoreOpen,
): Promise<number> {
  const loaded = loadOrReport(file, io);
  if (!loaded.config) return loaded.exit;
  const log = createLogger(loaded.config.log);
  const rt = createRuntime(log);
  const service = new BridgeService(loaded.config, rt, graceMs, earlyStore);
  // Units start concurrently, so the ops server may already answer while the store still opens:
  // a SIGHUP then must not kill the process (its default action). It is applied once started.
  let hupWhileStarting = false;
  const onEarlyHup = () => (hupWhileStarting = true);
  process.on('SIGHUP', onEarlyHup);
  try {
    await service.start();
  } catch (e) {
    // Stop what did start (ops server, channels...) so the process can exit with the error.
    await service.stop();
    throw e;
  } finally {
    process.off('SIGHUP', onEarlyHup);
  }
  log.info({ instanceId: rt.instanceId, config: file }, 'ecm-bridge started');
  // The compile cache the launcher enabled (bin/ecm-bridge.js) is written when the process exits;
  // written now too, with what start-up compiled, so that the next start finds it even after a
  // crash or a SIGKILL (Node 22.10 and later).
  (module as { flushCompileCache?: () => void }).flushCompileCache?.();
  return runUntilSignal(service, file, io.env, log, hupWhileStarting);
}

/**
 * Serves until SIGTERM/SIGINT (graceful stop, exit 0); SIGHUP reloads the config file, at once
 * when `reloadNow` (a SIGHUP arrived while the service was starting).
 */
export function runUntilSignal(
  service: BridgeService,
  file: string,
  env: Record<string, string | undefined>,
  log: import('pino').Logger,
  reloadNow = false,
): Promise<number> {
  let reloading = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      // The service counts the outcome (once); here it is only logged.
      const reloaded = await service.reload(() => loadConfigFile(file, { env }));
      if (reloaded.outcome === 'rejected') {
        const e = reloaded.error;
        if (e instanceof ConfigError)
          log.error(
            { file, problems: e.problems },
            'configuration reload rejected; keeping the previous configuration',
          );
        else log.error({ err: e }, 'configuration reload rejected; keeping the previous configuration');
      } else if (reloaded.outcome === 'failed') log.error({ err: reloaded.error }, 'configuration reload failed');
    });
  };
  process.on('SIGHUP', onHup);
  if (reloadNow) onHup();
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
