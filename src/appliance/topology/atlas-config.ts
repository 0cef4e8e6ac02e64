import { z } from 'zod';
import { hostname } from '../../platform/config/common-fields.js';

/** How many traffic nodes (and host map entries) a site may list: far above real clusters, bounds the probing. */
export const MAX_TRAFFIC_NODES = 64;

const BARE_HOSTNAME = /^[A-Za-z0-9.-]{1,253}$/;

/** `https://tn1` → a message saying what to write instead (every remote is reached over https anyway). */
const hostEntry = z
  .string()
  .refine(
    (v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v),
    'give the host name only, optionally with :port (traffic nodes are always reached over https)',
  )
  .pipe(hostname);

/** `host[:port]` → its host name, lower case (DNS names are case-insensitive). */
export const hostOf = (entry: string) =>
  (entry.startsWith('[') ? entry.slice(0, entry.indexOf(']') + 1) : entry.replace(/:\d+$/, '')).toLowerCase();

/**
 * An Atlas cluster's traffic nodes. `trafficNodes` are the names the appliance writes into report
 * URLs (public names; `:port` when those URLs carry one, else 443); `hostMap` says by which
 * internal host[:port] the bridge reaches a public name it cannot resolve or route to (a DMZ;
 * the port defaults to the public one). Certificates are verified against the public name.
 */
export const atlasSchema = z
  .object({
    trafficNodes: z.array(hostEntry).max(MAX_TRAFFIC_NODES).default([]),
    hostMap: z
      .record(z.string(), hostEntry)
      .superRefine((m, ctx) => {
        const keys = Object.keys(m);
        if (keys.length > MAX_TRAFFIC_NODES)
          ctx.addIssue({ code: 'custom', message: `at most ${MAX_TRAFFIC_NODES} entries, not ${keys.length}` });
        for (const key of keys.filter((k) => !BARE_HOSTNAME.test(k)))
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'the key must be a host name without port or scheme (the name report URLs carry)',
          });
      })
      .default({}),
  })
  .strict()
  .superRefine((a, ctx) => {
    // Cross-checks only over entries that are valid themselves (their own messages say the rest).
    if (!a.trafficNodes.every((n) => hostEntry.safeParse(n).success)) return;
    const names = a.trafficNodes.map(hostOf);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i)
        ctx.addIssue({ code: 'custom', path: ['trafficNodes', i], message: `${n} is listed twice` });
    });
    for (const key of Object.keys(a.hostMap))
      if (BARE_HOSTNAME.test(key) && !names.includes(key.toLowerCase()))
        ctx.addIssue({
          code: 'custom',
          path: ['hostMap', key],
          message: `${key} is not in trafficNodes: a public name is mapped only for a listed traffic node`,
        });
  });
