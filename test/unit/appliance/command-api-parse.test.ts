import { describe, expect, it } from 'vitest';
import { parseApiInfo, parseCheckHealth } from '../../../src/appliance/api/command-api.js';
import { isServiceError } from '../../../src/platform/errors.js';

describe('Command API XML parsing', () => {
  it('reads check_health under any root element and namespace prefix', () => {
    const xml = `<?xml version="1.0"?>
<ns1:check_health xmlns:ns1="http://www.beyondtrust.com/sra/namespaces/API/command">
  <ns1:appliance id="a1b2">pra.example.com</ns1:appliance>
  <ns1:version>24.3.1</ns1:version>
  <ns1:success>1</ns1:success>
  <ns1:failover_role>backup</ns1:failover_role>
  <ns1:last_data_sync_time ts="1767225600">2026-01-01T00:00:00+00:00</ns1:last_data_sync_time>
  <ns1:last_data_sync_status>Success</ns1:last_data_sync_status>
</ns1:check_health>`;
    expect(parseCheckHealth(xml)).toEqual({
      applianceId: 'a1b2',
      hostname: 'pra.example.com',
      version: '24.3.1',
      success: true,
      errorMessage: undefined,
      failoverRole: 'backup',
      lastDataSyncAt: 1767225600000,
      lastDataSyncStatus: 'Success',
    });
  });

  it('treats a missing failover_role as none and success 0 as unhealthy', () => {
    const h = parseCheckHealth('<health><success>0</success><error_message>disk full</error_message></health>');
    expect(h).toMatchObject({
      success: false,
      errorMessage: 'disk full',
      failoverRole: 'none',
      lastDataSyncAt: undefined,
    });
  });

  it('turns an <error> document (root or child) into appliance.api_error with its text', () => {
    for (const xml of ['<error>Access denied</error>', '<check_health><error>Access denied</error></check_health>']) {
      try {
        parseCheckHealth(xml);
        throw new Error('expected a failure');
      } catch (e) {
        expect(isServiceError(e, 'appliance.api_error')).toBe(true);
        expect((e as Error).message).toBe('check_health: the appliance answered an error: Access denied');
      }
    }
  });

  it('rejects text that is not XML as appliance.protocol', () => {
    expect(() => parseCheckHealth('')).toThrow(/empty XML document|not XML/);
  });

  it('reads get_api_info permissions as child elements, attributes or perm_* elements', () => {
    const children = parseApiInfo(`<api_info><api_version>1.25.1</api_version><permissions>
      <permission><name>perm_ecm</name><value>1</value></permission>
      <permission><name>perm_command</name><value>read_only</value></permission></permissions></api_info>`);
    expect(children).toEqual({ apiVersion: '1.25.1', permissions: { perm_ecm: '1', perm_command: 'read_only' } });
    const attrs = parseApiInfo(
      '<api_info><permissions><permission name="perm_reporting" value="0"/></permissions></api_info>',
    );
    expect(attrs.permissions).toEqual({ perm_reporting: '0' });
    const direct = parseApiInfo(
      '<x:api_info xmlns:x="urn:a"><x:permissions><x:perm_backup>1</x:perm_backup></x:permissions></x:api_info>',
    );
    expect(direct.permissions).toEqual({ perm_backup: '1' });
  });
});
