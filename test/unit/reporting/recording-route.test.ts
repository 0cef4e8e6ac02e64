import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { ClusterHosts } from '../../../src/appliance/topology/cluster-hosts.js';
import { MAX_REDIRECTS, recordingRequest, redirectTarget } from '../../../src/reporting/recording-route.js';

const cluster = new ClusterHosts({
  url: 'https://access.example.com',
  nodes: [],
  atlas: { trafficNodes: ['tn1.example.com'], hostMap: { 'tn1.example.com': '10.0.2.11:8443' } },
});
const refusal = { site: 'corp', what: 'lsid abc', cluster };
const siteReport = { url: new URL('https://access.example.com/api/reporting'), form: { generate_report: 'x' } };
const answer = (statusCode: number, location?: string) =>
  ({ statusCode, headers: location === undefined ? {} : { location } }) as unknown as Dispatcher.ResponseData;

describe('recording requests and redirects', () => {
  it('asks the traffic node a URL names, else the site report; a shell URL outside the cluster is refused', () => {
    const onNode = recordingRequest({ lsid: 'abc', url: 'https://tn1.example.com/rec?lsid=abc' }, siteReport, refusal);
    // The request carries the node's public name: errors and logs name it, not only the mapped address.
    expect(onNode).toEqual({
      url: new URL('https://10.0.2.11:8443/rec?lsid=abc'),
      mayRedirect: true,
      node: 'tn1.example.com',
    });
    expect(recordingRequest({ lsid: 'abc', url: 'https://elsewhere.example/r' }, siteReport, refusal)).toEqual({
      ...siteReport,
      mayRedirect: true,
    });
    expect(() =>
      recordingRequest({ lsid: 'abc', instance: 1, url: 'https://elsewhere.example/s?k=secret' }, siteReport, refusal),
    ).toThrow(/lsid abc is at https:\/\/elsewhere\.example, not a host of the site's cluster/);
  });

  it('307/308 repeat the request, 301-303 become a GET; outside the cluster or past the cap they throw', () => {
    expect(redirectTarget(answer(200), siteReport, 0, refusal)).toBeUndefined();
    expect(redirectTarget(answer(307, 'https://tn1.example.com/r'), siteReport, 0, refusal)).toEqual({
      url: new URL('https://10.0.2.11:8443/r'),
      mayRedirect: true,
      node: 'tn1.example.com',
      form: siteReport.form,
    });
    expect(redirectTarget(answer(302, '/download?x=1'), siteReport, 0, refusal)).toEqual({
      url: new URL('https://access.example.com/download?x=1'),
      mayRedirect: true,
    });
    expect(() => redirectTarget(answer(302, 'https://access.example.com:444/r'), siteReport, 0, refusal)).toThrow(
      expect.objectContaining({ code: 'report.recording_host_refused' }),
    );
    expect(() => redirectTarget(answer(302, 'https://tn1.example.com/r'), siteReport, MAX_REDIRECTS, refusal)).toThrow(
      /redirected more than 3 times/,
    );
    expect(() => redirectTarget(answer(302), siteReport, 0, refusal)).toThrow(/without a usable Location/);
  });
});
