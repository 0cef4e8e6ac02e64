import type { SessionRecord } from '../../src/reporting/session-record.js';

/**
 * A batch of report sessions as the reporting worker hands them to `writeSessions`: each
 * session with a customer, a representative, a custom attribute and `events` events, each
 * event with a body and two data values. Batch `batch` covers one day, so batches never share
 * an lsid. Shared by the store benchmarks (store-write.ts, ingestion.ts).
 */
export function sessionBatch(batch: number, sessions: number, events: number): SessionRecord[] {
  const start = Date.UTC(2026, 10, 1) + batch * 86_400_000;
  return Array.from({ length: sessions }, (_, i): SessionRecord => ({
    hostName: 'access.example.com',
    lsid: `b${batch}-s${i}-${'0'.repeat(20)}`,
    type: 'support',
    lseq: i,
    startTime: new Date(start + i * 1000),
    endTime: new Date(start + i * 1000 + 600_000),
    duration: '00:10:00',
    externalKey: `CHG-${i}`,
    publicSiteId: 1,
    publicSiteName: 'Default',
    jumpGroup: { id: 7, type: 'shared', name: 'Servers – Zürich' },
    jumpoint: { id: 3, name: 'jp-01' },
    primaryCustomer: { gsnumber: 2, name: `srv-${i}` },
    primaryRep: { gsnumber: 1, id: 11, name: 'Zoë Ødegård' },
    fileTransferCount: 1,
    fileMoveCount: 0,
    fileDeleteCount: 0,
    chatViewUrl: `https://access.example.com/session_download.ns?lsid=${i}`,
    chatDownloadUrl: null,
    recordingViewUrl: null,
    recordingDownloadUrl: null,
    customAttributes: [{ codeName: 'ticket', displayName: 'Ticket', value: `INC-${i}` }],
    teams: [],
    customers: [
      {
        gsnumber: 2,
        username: 'admin',
        publicIp: '203.0.113.9',
        publicPort: 50000,
        privateIp: '10.0.0.9',
        hostname: `srv-${i}`,
        os: 'Windows Server 2022',
      },
    ],
    representatives: [
      {
        gsnumber: 1,
        id: 11,
        username: 'zoe',
        displayName: 'Zoë Ødegård',
        publicDisplayName: 'Zoë',
        privateDisplayName: null,
        publicIp: '198.51.100.7',
        publicPort: 61606,
        privateIp: '10.0.0.5',
        hostname: 'ws-zoe',
        os: 'Ubuntu 24.04',
        sessionOwner: true,
        secondsInvolved: 600,
        invited: false,
      },
    ],
    shellRecordings: [],
    events: Array.from({ length: events }, (_e, seq) => ({
      seq,
      time: new Date(start + i * 1000 + seq * 10_000),
      type: seq === 0 ? 'Session Start' : 'Command Shell Session Input',
      performedBy: { type: 'representative', gsnumber: 1, name: 'Zoë Ødegård' },
      destination: { type: 'customer', gsnumber: 2, name: `srv-${i}` },
      body: `Get-Service -Name wuauserv | Restart-Service -Force  # step ${seq} of the maintenance run ✓`,
      files: [],
      data: [
        { name: 'protocol', value: 'ssh' },
        { name: 'shell', value: 'pwsh' },
      ],
      systemInformation: [],
    })),
  }));
}
