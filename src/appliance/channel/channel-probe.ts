import { hostname } from 'node:os';
import type { SecureContext } from 'node:tls';
import WebSocket, { type ClientOptions } from 'ws';
import type { Secret } from '../../platform/secret.js';
import { BRIDGE_VERSION } from '../../platform/version.js';
import { CLOSE, OPS, PROTOCOL_VERSION, type HelloFrame, type WelcomeFrame } from '../../protocol/ecm-protocol.js';
import { describeProblem, welcomeSchema } from '../../protocol/ecm-schemas.js';

/** What one trial upgrade of the ECM channel saw. */
export type ChannelProbe =
  { opened: true; welcome: WelcomeFrame } | { opened: false; status?: number; message?: string; error?: Error };

export interface ChannelProbeOptions {
  origin: string;
  token: Secret;
  trust?: SecureContext;
  transport?: { servername?: string; agent?: ClientOptions['agent'] };
  timeoutMs: number;
  /** The hello's instance id: a fresh one, so the trial never replaces a running replica. */
  instanceId: string;
}

/**
 * `ecm-bridge check`: opens the ECM channel once (upgrade, hello, welcome) and closes it with 1000
 * at once, so a site that refuses ECM connections or a missing permission shows up before
 * `serve`, and the welcome tells where the bridge would stand in its ECM group. Answers no
 * request: the channel closes as soon as the welcome arrives.
 */
export function probeChannel(o: ChannelProbeOptions): Promise<ChannelProbe> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${o.origin.replace(/^http/, 'ws')}/api/ecm/v1`, {
      headers: { authorization: `Bearer ${o.token.reveal()}` },
      handshakeTimeout: o.timeoutMs,
      perMessageDeflate: false,
      followRedirects: false,
      ...(o.trust ? { secureContext: o.trust } : {}),
      ...o.transport,
    } as ClientOptions);
    let done = false;
    const finish = (r: ChannelProbe) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      finish({ opened: false, error: new Error(`no welcome within ${o.timeoutMs} ms`) });
      ws.terminate();
    }, o.timeoutMs);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body = (body + c).slice(0, 500)));
      res.on('end', () => {
        let message: string | undefined;
        try {
          message = (JSON.parse(body) as { message?: string }).message;
        } catch {
          message = body.trim() || undefined;
        }
        finish({ opened: false, status: res.statusCode, ...(message ? { message } : {}) });
        ws.terminate();
      });
    });
    ws.on('open', () => ws.send(JSON.stringify(hello(o.instanceId))));
    ws.on('message', (data) => {
      let frame: { type?: string };
      try {
        frame = JSON.parse(String(data)) as { type?: string };
      } catch {
        return;
      }
      if (frame.type !== 'welcome') return;
      const bounded = welcomeSchema.safeParse(frame);
      if (!bounded.success) finish({ opened: false, error: new Error(describeProblem('welcome', bounded.error)) });
      else finish({ opened: true, welcome: frame as WelcomeFrame });
      ws.close(CLOSE.normal, 'ecm-bridge check');
    });
    ws.on('error', (e) => finish({ opened: false, error: e }));
    ws.on('close', (code, reason) =>
      finish({ opened: false, error: new Error(`closed before the welcome (${code} ${reason.toString()})`) }),
    );
  });
}

function hello(instanceId: string): HelloFrame {
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    ecm: { name: 'ecm-bridge', version: BRIDGE_VERSION, instanceId, host: hostname() },
    capabilities: [...OPS],
  };
}
