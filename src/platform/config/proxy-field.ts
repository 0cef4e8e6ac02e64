import { z } from 'zod';
import { secretRef } from './secret-ref.js';

/**
 * An HTTP proxy that tunnels the bridge's HTTPS connections to one remote (CONNECT), for
 * appliances and vaults reached through a DMZ. `password` is a secret reference; it is sent only
 * in the CONNECT request's Proxy-Authorization header, by every client (OAuth, Reporting and
 * Command API, the vault, and the ECM channel's WebSocket tunnel).
 */
export const proxySchema = z
  .object({
    /** `http://proxy.corp.example:3128` (or `https://` when the proxy itself speaks TLS). */
    url: z
      .string()
      .url('must be an absolute URL')
      .refine((u) => /^https?:\/\/[^/]+\/?$/i.test(u), 'must be http(s)://host:port of the proxy, without a path')
      // Credentials in a URL are printed, logged and compared in clear wherever the URL goes, and
      // a client that ignores userinfo silently connects without them: they go in the secret fields.
      .refine(
        (u) => !/^https?:\/\/[^/]*@/i.test(u),
        'must not carry user:password@ (set proxy.username and proxy.password, a secret reference such as env:PROXY_PASSWORD)',
      ),
    username: z.string().min(1).max(256).optional(),
    password: secretRef.optional(),
    /**
     * Hosts reached directly: `host`, `host:port`, `.example.com` / `*.example.com` (the domain
     * and everything under it), or `*` (no proxy at all).
     */
    noProxy: z.array(z.string().min(1).max(253)).default([]),
  })
  .strict()
  .refine((p) => (p.username === undefined) === (p.password === undefined), {
    message: 'username and password go together',
  });

export type ProxyConfig = z.infer<typeof proxySchema>;

/** Whether `host:port` of an origin is on the no-proxy list. */
export function bypassesProxy(origin: URL, noProxy: readonly string[]): boolean {
  const host = origin.hostname.toLowerCase();
  const port = origin.port || (origin.protocol === 'https:' ? '443' : '80');
  return noProxy.some((raw) => {
    const entry = raw.toLowerCase().trim();
    if (entry === '*') return true;
    const m = /^(.*?)(?::(\d+))?$/.exec(entry.replace(/^\*\./, '.')) as RegExpExecArray;
    const [name, entryPort] = [m[1] as string, m[2]];
    if (entryPort !== undefined && entryPort !== port) return false;
    return name.startsWith('.') ? host === name.slice(1) || host.endsWith(name) : host === name;
  });
}
