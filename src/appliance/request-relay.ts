import { ServiceError } from '../platform/errors.js';
import type { RequestHandler } from './appliance-link.js';

/**
 * A RequestHandler that forwards each request to whichever handler is current when it arrives.
 * Channels hold a relay instead of the broker itself, so a configuration reload that replaces
 * the broker leaves every channel (and its seniority in the ECM group) untouched. During the
 * moment no broker runs, requests fail with a retryable `service.shutting_down`.
 */
export function relayHandler(current: () => RequestHandler | undefined, site: string): RequestHandler {
  return {
    handle(op, context, params, signal) {
      const target = current();
      if (!target) {
        return Promise.reject(
          new ServiceError('service.shutting_down', 'the credential service is restarting; retry in a moment', {
            op: `ecm.${op}`,
          }),
        );
      }
      return (target.forSite?.(site) ?? target).handle(op, context, params, signal);
    },
    undeliverable: async (leaseId) => current()?.undeliverable?.(leaseId),
  };
}
