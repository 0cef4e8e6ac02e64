import { describe, expect, it } from 'vitest';
import { ClusterHosts } from '../../../src/appliance/topology/cluster-hosts.js';
import { parseConfigText } from '../../../src/app/config-schema.js';
import { ConfigError } from '../../../src/platform/config/loader.js';

function site(atlas: string): string {
  return `sites:\n  - name: a\n    url: https://access.example.com\n    atlas: ${atlas}\n`;
}

function problems(text: string) {
  try {
    parseConfigText(text, 'bad.yaml', { env: {} });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return Object.fromEntries((e as ConfigError).problems.map((p) => [p.path, p.message]));
  }
  throw new Error('expected a ConfigError');
}

describe('atlas traffic nodes (config and cluster hosts)', () => {
  it('names the field of every mistake', () => {
    expect(
      problems(
        site(
          '{ trafficNodes: ["https://tn1.example.com", "tn2 example"], hostMap: { "tn2.example.com:8443": x, tn1.example.com: "http://tn1" } }',
        ),
      ),
    ).toEqual({
      'sites[0].atlas.trafficNodes[0]':
        'give the host name only, optionally with :port (traffic nodes are always reached over https)',
      'sites[0].atlas.trafficNodes[1]': 'must be a hostname, optionally with :port',
      'sites[0].atlas.hostMap.tn2.example.com:8443':
        'the key must be a host name without port or scheme (the name report URLs carry)',
      'sites[0].atlas.hostMap.tn1.example.com':
        'give the host name only, optionally with :port (traffic nodes are always reached over https)',
    });
    expect(
      problems(
        site('{ trafficNodes: [tn2.example.com, "TN2.example.com:443"], hostMap: { tn3.example.com: tn3.internal } }'),
      ),
    ).toEqual({
      'sites[0].atlas.trafficNodes[1]': 'tn2.example.com is listed twice',
      'sites[0].atlas.hostMap.tn3.example.com':
        'tn3.example.com is not in trafficNodes: a public name is mapped only for a listed traffic node',
    });
    const many = JSON.stringify({ trafficNodes: Array.from({ length: 65 }, (_, i) => `tn${i}.example.com`) });
    expect(Object.keys(problems(site(many)))).toEqual(['sites[0].atlas.trafficNodes']);
  });

  it('routes report URLs: traffic nodes to their internal address, site and nodes as they are, anything else nowhere', () => {
    const cfg = parseConfigText(
      site('{ trafficNodes: [tn1.example.com, "tn2.example.com:8443"], hostMap: { TN1.example.com: "10.0.2.11" } }') +
        '    nodes: [10.0.0.11]\n',
      'ok.yaml',
      { env: {} },
    );
    const hosts = new ClusterHosts(cfg.sites[0]!);
    const route = (u: string) => {
      const r = hosts.route(new URL(u));
      return r && { url: r.url.href, node: r.node, kind: r.kind };
    };
    expect(route('https://TN1.example.com/session_download/recording?lsid=a')).toEqual({
      url: 'https://10.0.2.11/session_download/recording?lsid=a',
      node: 'tn1.example.com',
      kind: 'traffic',
    });
    expect(route('https://10.0.2.11/x')).toMatchObject({ node: 'tn1.example.com', kind: 'traffic' });
    expect(route('https://tn2.example.com:8443/x')).toMatchObject({ url: 'https://tn2.example.com:8443/x' });
    expect(route('https://access.example.com/api/reporting')).toMatchObject({ kind: 'site' });
    expect(route('https://10.0.0.11:443/x')).toMatchObject({ kind: 'site' });
    // Another port, plain http, userinfo or another host: no route, never contacted.
    for (const u of [
      'https://tn2.example.com/x',
      'https://access.example.com:8443/x',
      'http://tn1.example.com/x',
      'https://user:pw@tn1.example.com/x',
      'https://tn1.example.com.evil.example/x',
    ])
      expect(route(u)).toBeUndefined();
    // The failover node by IP carries the site's certificate; the mapped traffic node its public name's.
    expect(hosts.verifyNames()).toEqual(
      new Map([
        ['10.0.0.11:443', 'access.example.com'],
        ['10.0.2.11:443', 'tn1.example.com'],
      ]),
    );
    // Nodes by their own names verify the site name too, or sites[].tlsServerName when set.
    const named = (tlsServerName?: string) =>
      new ClusterHosts({
        url: 'https://Access.example.com',
        nodes: ['node1.example.com:8443', 'access.example.com'],
        ...(tlsServerName ? { tlsServerName } : {}),
      }).verifyNames();
    expect(named()).toEqual(new Map([['node1.example.com:8443', 'access.example.com']]));
    expect(named('pra.example.com')).toEqual(
      new Map([
        ['access.example.com:443', 'pra.example.com'],
        ['node1.example.com:8443', 'pra.example.com'],
      ]),
    );
    expect(hosts.trafficNodes()).toEqual([
      { node: 'tn1.example.com', origin: 'https://10.0.2.11' },
      { node: 'tn2.example.com:8443', origin: 'https://tn2.example.com:8443' },
    ]);
  });
});
