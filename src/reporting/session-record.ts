/**
 * A session as parsed from the Reporting API (AccessSession / SupportSession), normalised and
 * typed: what the XML parser produces and what ReportStore writes into BGSessions.
 * Times are UTC Dates; absent or `Unknown` values are null.
 */
export interface SessionRecord {
  /** Site hostname: with `lsid`, the idempotency key. */
  hostName: string;
  lsid: string;
  type: string;
  lseq: number | null;
  startTime: Date;
  endTime: Date | null;
  duration: string | null;
  externalKey: string | null;
  publicSiteId: number;
  publicSiteName: string;
  jumpGroup: { id: number | null; type: string | null; name: string } | null;
  jumpoint: { id: number | null; name: string } | null;
  primaryCustomer: { gsnumber: number | null; name: string } | null;
  primaryRep: { gsnumber: number | null; id: number | null; name: string } | null;
  fileTransferCount: number;
  fileMoveCount: number;
  fileDeleteCount: number;
  chatViewUrl: string | null;
  chatDownloadUrl: string | null;
  recordingViewUrl: string | null;
  recordingDownloadUrl: string | null;
  customAttributes: { codeName: string; displayName: string; value: string }[];
  teams: { id: number | null; name: string }[];
  customers: SessionCustomer[];
  representatives: SessionRepresentative[];
  shellRecordings: { instance: number | null; downloadUrl: string | null; viewUrl: string | null }[];
  events: SessionEvent[];
}

export interface SessionCustomer {
  gsnumber: number;
  username: string | null;
  publicIp: string | null;
  publicPort: number | null;
  privateIp: string | null;
  hostname: string | null;
  os: string | null;
}

export interface SessionRepresentative {
  gsnumber: number;
  id: number | null;
  username: string | null;
  displayName: string | null;
  publicDisplayName: string | null;
  privateDisplayName: string | null;
  publicIp: string | null;
  publicPort: number | null;
  privateIp: string | null;
  hostname: string | null;
  os: string | null;
  sessionOwner: boolean;
  secondsInvolved: number | null;
  invited: boolean;
}

export interface EventParty {
  type: string | null;
  gsnumber: number | null;
  name: string;
}

export interface SessionEvent {
  /** Order within the session, from 0. */
  seq: number;
  time: Date;
  type: string;
  performedBy: EventParty | null;
  destination: EventParty | null;
  /** Decoded text (encoded_body is base64-decoded by the parser). */
  body: string | null;
  files: { filename: string; filesize: number | null }[];
  data: { name: string; value: string }[];
  systemInformation: { category: string; field: string; value: string; row: number | null }[];
}

/** An entry of a *SessionListing report. */
export interface SessionSummary {
  lsid: string;
  hasRecording: boolean;
}
