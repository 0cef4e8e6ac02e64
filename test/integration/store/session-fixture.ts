import type { SessionEvent, SessionRecord } from '../../../src/reporting/session-record.js';

/** A fully populated session: every optional part present, Unicode in person-typed fields. */
export function makeSession(lsid: string, overrides: Partial<SessionRecord> = {}, eventCount = 3): SessionRecord {
  const start = new Date(Date.UTC(2026, 10, 20, 8, 0, 0));
  return {
    hostName: 'access.example.com',
    lsid,
    type: 'support',
    lseq: 42,
    startTime: start,
    endTime: new Date(start.getTime() + 3_723_000),
    duration: '01:02:03',
    externalKey: 'CHG-0042 « ticket » ✓',
    publicSiteId: 1,
    publicSiteName: 'Default',
    jumpGroup: { id: 7, type: 'shared', name: 'Servers – Zürich' },
    jumpoint: { id: 3, name: 'jp-01' },
    primaryCustomer: { gsnumber: 2, name: 'srv-01' },
    primaryRep: { gsnumber: 1, id: 11, name: 'Zoë Ødegård' },
    fileTransferCount: 2,
    fileMoveCount: 1,
    fileDeleteCount: 0,
    chatViewUrl: 'https://access.example.com/session_download.ns?lsid=' + lsid,
    chatDownloadUrl: null,
    recordingViewUrl: null,
    recordingDownloadUrl: 'https://traffic1.example.com/rec?lsid=' + lsid,
    customAttributes: [
      { codeName: 'ticket', displayName: 'Ticket', value: 'INC-1' },
      { codeName: 'note', displayName: 'Note', value: '日本語のメモ' },
    ],
    teams: [{ id: 5, name: 'Tier 2' }],
    customers: [
      {
        gsnumber: 2,
        username: 'admin',
        publicIp: '[2a01:db8::5]',
        publicPort: 56722,
        privateIp: null,
        hostname: 'srv-01',
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
        publicIp: '4.231.237.19',
        publicPort: 61606,
        privateIp: '10.0.0.5',
        hostname: 'ws-zoe',
        os: 'Ubuntu 24.04',
        sessionOwner: true,
        secondsInvolved: 3723,
        invited: false,
      },
    ],
    shellRecordings: [{ instance: 0, downloadUrl: 'https://traffic1.example.com/shell/0', viewUrl: null }],
    events: Array.from({ length: eventCount }, (_, i) => makeEvent(i, start)),
    ...overrides,
  };
}

export function makeEvent(
  seq: number,
  start: Date,
  body: string | null = `event ${seq} – "ok", done\nline 2, ✓ '\\N'`,
): SessionEvent {
  return {
    seq,
    time: new Date(start.getTime() + seq * 1000),
    type: seq === 0 ? 'Session Start' : 'File Transfer',
    performedBy: { type: 'representative', gsnumber: 1, name: 'Zoë Ødegård' },
    destination: seq === 0 ? null : { type: 'customer', gsnumber: 2, name: 'srv-01' },
    body,
    files:
      seq === 0
        ? []
        : seq % 2 === 0
          ? [
              { filename: 'a.txt', filesize: 10 },
              { filename: 'ß.bin', filesize: null },
            ]
          : [{ filename: 'one.log', filesize: 2048 }],
    data: [
      { name: 'protocol', value: 'RDP' },
      { name: 'comment', value: 'naïve café, "quoted"' },
      { name: 'empty', value: '' },
    ],
    systemInformation:
      seq === 0
        ? [
            { category: 'OS', field: 'Name', value: 'Windows', row: null },
            { category: 'Disks', field: 'Size', value: '100 GB', row: 1 },
          ]
        : [],
  };
}
