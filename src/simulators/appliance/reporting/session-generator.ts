import { createHash } from 'node:crypto';
import type {
  SessionCustomer,
  SessionEvent,
  SessionRecord,
  SessionRepresentative,
} from '../../../reporting/session-record.js';
import { pick, seededRandom, type Random } from './seeded-random.js';

/** How one generated session is rendered as XML (variations real appliances show). */
export interface SessionQuirks {
  /** Event timestamps as ISO text instead of unix seconds (seen in documentation mocks). */
  isoEventTimes: boolean;
  /** Null private_ip / os written as the literal `Unknown` rather than left out. */
  unknownLiterals: boolean;
  /** Empty lists written as an empty element (`<custom_attributes/>`) rather than left out. */
  emptyListElements: boolean;
}

export interface GeneratedSession {
  index: number;
  record: SessionRecord;
  quirks: SessionQuirks;
  hasRecording: boolean;
}

export interface SessionGeneratorOptions {
  seed: number;
  /** Sessions in the whole data set (100,000 and more are fine: nothing is held in memory). */
  count: number;
  /** Site hostname written into records (the store's host_name). */
  hostName: string;
  product: 'pra' | 'rs';
  /** Start of the first session (ms since epoch). */
  firstStartMs: number;
  /** Average gap between session starts. */
  spacingMs: number;
  /**
   * Late closing, as appliances do when a session's end is recorded after the fact: every
   * `every`-th session still looks in progress for `delayMs` after its end time, then appears
   * closed with its real (earlier) end time. Only an overlapping re-read catches it.
   */
  lateClose?: { every: number; delayMs: number };
  /**
   * An Atlas cluster's traffic nodes (public names): session i runs on node `i % n`, and its
   * recording and shell recording URLs name that node; with `recordingUrlsOnSite` the session
   * recording URL names the site instead (its primary redirects the download to the node).
   */
  trafficNodes?: string[];
  recordingUrlsOnSite?: boolean;
}

/** No session lasts longer than this: bounds the scan for "sessions ending in a window". */
export const MAX_DURATION_MS = 3 * 3_600_000;

const REPS = [
  { id: 11, username: 'zoe.mueller', display: 'Zoë Müller' },
  { id: 12, username: 'jalvarez', display: 'José Álvarez' },
  { id: 13, username: 'li.lei', display: '李雷' },
  { id: 14, username: 'opetrova', display: 'Ольга Петрова' },
  { id: 15, username: 'sam.obrien', display: "Sam O'Brien & <Ops>" },
  { id: 16, username: 'amelie', display: 'Amélie Dubois 🛠' },
];
const ENDPOINTS = [
  'web-01.corp.example',
  'db-02.corp.example',
  'straße-03.corp.example',
  'fileserver',
  'WIN-7Q2K9',
  'jump-ü-04',
];
const JUMP_GROUPS = [
  { id: 1, type: 'shared', name: 'Production servers' },
  { id: 2, type: 'shared', name: 'Datenbanken' },
  { id: 7, type: 'personal', name: 'Zoë Müller' },
];
const JUMPOINTS = [
  { id: 3, name: 'DC-East Jumpoint' },
  { id: 4, name: 'Jumpoint Zürich' },
];
const CHAT = [
  'Hello, starting maintenance now',
  'Bitte Neustart bestätigen',
  '重启完成',
  'Готово',
  'ticket & <ref> "quoted"',
  '  padded message  ',
  'bell\u0007 and escape \u001b[31mred\u001b[0m',
  'smile 😀',
];
const FILES = ['backup.tar.gz', 'rapport été.pdf', 'config.yaml', 'logs/2026-01-01.log'];
const ATTRS = [
  { codeName: 'ticket', displayName: 'Ticket' },
  { codeName: 'cost_center', displayName: 'Kostenstelle' },
  { codeName: 'note', displayName: 'Remarque' },
];
const TEAMS = [
  { id: 21, name: 'Service Desk' },
  { id: 22, name: 'Réseau' },
  { id: 23, name: 'Database team' },
];

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** Event times are whole seconds, like the appliance's unix timestamps. */
function secondsDate(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * A deterministic source of realistic sessions: session `i` is computed from (seed, i) alone,
 * so any subset can be produced at any time without holding the data set, and a test can ask
 * for exactly what the simulator served. Sessions start in index order; a session whose end lies
 * after `nowMs` is in progress (no end time, only the events so far), and closes as time moves on.
 */
export class SessionGenerator {
  readonly #salt: string;

  constructor(readonly options: SessionGeneratorOptions) {
    this.#salt = createHash('sha1').update(`${options.seed}`).digest('hex').slice(0, 8);
  }

  get count(): number {
    return this.options.count;
  }

  /** 32 hex characters like real lsids; the last 8 carry the index so lookups need no table. */
  lsidOf(i: number): string {
    const h = createHash('sha1').update(`${this.#salt}:${i}`).digest('hex').slice(0, 24);
    return h + i.toString(16).padStart(8, '0');
  }

  indexOf(lsid: string): number | undefined {
    if (!/^[0-9a-f]{32}$/.test(lsid)) return undefined;
    const i = Number.parseInt(lsid.slice(24), 16);
    return i < this.count && this.lsidOf(i) === lsid ? i : undefined;
  }

  startMs(i: number): number {
    const r = seededRandom(this.options.seed, i, 0);
    return this.options.firstStartMs + i * this.options.spacingMs + Math.floor(r() * this.options.spacingMs);
  }

  /** Planned end (ms), whether or not it has been reached yet. */
  endMs(i: number): number {
    const r = seededRandom(this.options.seed, i, 1);
    const long = r() < 0.1;
    const durationMs = long
      ? 3_600_000 + Math.floor(r() * (MAX_DURATION_MS - 3_600_000))
      : 30_000 + Math.floor(r() * 1_770_000);
    return secondsDate(this.startMs(i) + durationMs).getTime();
  }

  /** When session i shows as closed (its end, or later for a late-closing session). */
  closedAtMs(i: number): number {
    const late = this.options.lateClose;
    return this.endMs(i) + (late && i % late.every === 0 ? late.delayMs : 0);
  }

  /** Whether session i shows as closed at `nowMs`. */
  isClosed(i: number, nowMs: number): boolean {
    return this.closedAtMs(i) <= nowMs;
  }

  /** Index range [from, to) of sessions that may start in [fromMs, toMs). */
  #indexRange(fromMs: number, toMs: number): [number, number] {
    const { firstStartMs, spacingMs } = this.options;
    const from = Math.max(0, Math.floor((fromMs - firstStartMs) / spacingMs) - 1);
    const to = Math.min(this.count, Math.ceil((toMs - firstStartMs) / spacingMs) + 1);
    return [from, Math.max(from, to)];
  }

  /** Sessions that started in [fromMs, toMs) by `nowMs`, in progress ones included. */
  *startedIn(fromMs: number, toMs: number, nowMs: number): Generator<number> {
    const [a, b] = this.#indexRange(fromMs, toMs);
    for (let i = a; i < b; i++) {
      const s = this.startMs(i);
      if (s >= fromMs && s < toMs && s <= nowMs) yield i;
    }
  }

  /** Closed sessions (by `nowMs`) that ended in [fromMs, toMs). */
  *endedIn(fromMs: number, toMs: number, nowMs: number): Generator<number> {
    const [a, b] = this.#indexRange(fromMs - MAX_DURATION_MS, toMs);
    for (let i = a; i < b; i++) {
      const e = this.endMs(i);
      if (e >= fromMs && e < toMs && this.isClosed(i, nowMs)) yield i;
    }
  }

  /** Every session started by `nowMs`, as served at `nowMs`: exactly what a complete pull must have stored. */
  *records(nowMs: number): Generator<SessionRecord> {
    for (let i = 0; i < this.count && this.startMs(i) <= nowMs; i++) yield this.session(i, nowMs).record;
  }

  hasRecording(i: number): boolean {
    return seededRandom(this.options.seed, i, 2)() < 0.4;
  }

  /** The traffic node (index into `trafficNodes`) session i ran on; undefined without traffic nodes. */
  trafficNodeOf(i: number): number | undefined {
    const nodes = this.options.trafficNodes;
    return nodes && nodes.length > 0 ? i % nodes.length : undefined;
  }

  /** The traffic node host session i ran on (without traffic nodes, a made-up name under the site's). */
  #trafficHost(i: number): string {
    const node = this.trafficNodeOf(i);
    return node !== undefined
      ? (this.options.trafficNodes?.[node] as string)
      : `traffic-${1 + (i % 2)}.${this.options.hostName}`;
  }

  /** The bytes of command shell recording `instance` of session i (a short transcript). */
  shellRecording(i: number, instance: number): Buffer {
    return Buffer.from(`$ hostname\n${this.lsidOf(i)} shell ${instance}\n$ exit\n`);
  }

  /** The bytes of session i's recording (deterministic, a few KiB). */
  recording(i: number): Buffer {
    const r = seededRandom(this.options.seed, i, 3);
    const b = Buffer.alloc(2048 + Math.floor(r() * 4096));
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(r() * 256);
    return b;
  }

  /** Session i as the appliance reports it at `nowMs`. */
  session(i: number, nowMs: number): GeneratedSession {
    const r = seededRandom(this.options.seed, i, 4);
    const { hostName, product } = this.options;
    const lsid = this.lsidOf(i);
    const start = this.startMs(i);
    const plannedEnd = this.endMs(i);
    const closed = this.isClosed(i, nowMs);
    const origin = `https://${hostName}`;
    const recordingOrigin =
      this.trafficNodeOf(i) !== undefined && !this.options.recordingUrlsOnSite
        ? `https://${this.#trafficHost(i)}`
        : origin;
    const recorded = this.hasRecording(i);
    const reps = this.#reps(r, i);
    const customers = this.#customers(r);
    // A late-closing session has had all its events but the end, until it shows as closed.
    const events = this.#events(
      r,
      i,
      start,
      plannedEnd,
      closed ? plannedEnd : Math.min(nowMs, plannedEnd - 1),
      reps,
      customers,
    );
    const jumpGroup = pick(r, JUMP_GROUPS);
    const jumpoint = r() < 0.8 ? pick(r, JUMPOINTS) : null;
    const nAttrs = Math.floor(r() * 3);
    const customAttributes = ATTRS.slice(0, nAttrs).map((a, k) => ({
      ...a,
      value: k === 0 ? `INC-${100000 + i}` : `Wert ${i} · ${pick(r, ['α', 'β', '☃', 'x'])}`,
    }));
    const shellCount = r() < 0.3 ? 1 + Math.floor(r() * 2) : 0;
    const fileEvents = events.filter((e) => e.files.length > 0).length;
    const record: SessionRecord = {
      hostName,
      lsid,
      type: 'support',
      // Like the appliance's: neither unique nor in session order.
      lseq: 1000 + Math.floor(i / 3) * 2 - (i % 3 === 2 ? 1 : 0),
      startTime: secondsDate(start),
      endTime: closed ? new Date(plannedEnd) : null,
      duration: closed ? formatDuration(plannedEnd - secondsDate(start).getTime()) : null,
      externalKey: r() < 0.5 ? `CHG-${20000 + (i % 977)}` : null,
      publicSiteId: product === 'rs' ? 2 : 1,
      publicSiteName: product === 'rs' ? 'Support Portal' : 'Default',
      jumpGroup,
      jumpoint,
      primaryCustomer: { gsnumber: customers[0]!.gsnumber, name: customers[0]!.hostname ?? 'endpoint' },
      primaryRep: { gsnumber: reps[0]!.gsnumber, id: reps[0]!.id, name: reps[0]!.displayName ?? '' },
      fileTransferCount: fileEvents,
      fileMoveCount: Math.floor(r() * 2),
      fileDeleteCount: 0,
      chatViewUrl: closed ? `${origin}/session_download/chat?lsid=${lsid}&view=1` : null,
      chatDownloadUrl: closed ? `${origin}/session_download/chat?lsid=${lsid}` : null,
      recordingViewUrl: recorded && closed ? `${recordingOrigin}/session_download/recording?lsid=${lsid}&view=1` : null,
      recordingDownloadUrl: recorded && closed ? `${recordingOrigin}/session_download/recording?lsid=${lsid}` : null,
      customAttributes,
      teams: product === 'rs' ? TEAMS.slice(0, Math.floor(r() * 3)) : [],
      customers,
      representatives: reps,
      shellRecordings: Array.from({ length: shellCount }, (_, k) => ({
        instance: k + 1,
        downloadUrl: `https://${this.#trafficHost(i)}/shell_recording?lsid=${lsid}&instance=${k + 1}`,
        viewUrl:
          k === 0 ? `https://${this.#trafficHost(i)}/shell_recording?lsid=${lsid}&instance=${k + 1}&view=1` : null,
      })),
      events,
    };
    const quirks = { isoEventTimes: i % 11 === 0, unknownLiterals: i % 2 === 0, emptyListElements: i % 3 === 0 };
    return { index: i, record, quirks, hasRecording: recorded && closed };
  }

  #reps(r: Random, i: number): SessionRepresentative[] {
    const n = 1 + Math.floor(r() * 3);
    const first = i % REPS.length;
    return Array.from({ length: n }, (_, k) => {
      const rep = REPS[(first + k * 2) % REPS.length]!;
      const v6 = r() < 0.3;
      return {
        gsnumber: 2 + k * 2,
        id: rep.id,
        username: rep.username,
        displayName: rep.display,
        publicDisplayName: rep.display,
        privateDisplayName: k === 0 ? `${rep.display} (private)` : null,
        publicIp: v6 ? `2a01:db8::${(i % 200) + k}` : `4.231.${i % 250}.${19 + k}`,
        publicPort: 40000 + Math.floor(r() * 20000),
        privateIp: r() < 0.7 ? `10.0.${k}.${i % 250}` : null,
        hostname: `rep-laptop-${rep.id}`,
        os: r() < 0.8 ? pick(r, ['Windows 11 Enterprise', 'macOS 15.2', 'Ubuntu 24.04']) : null,
        sessionOwner: k === 0,
        secondsInvolved: 30 + Math.floor(r() * 5000),
        invited: k > 0 && r() < 0.5,
      };
    });
  }

  #customers(r: Random): SessionCustomer[] {
    const host = pick(r, ENDPOINTS);
    return [
      {
        gsnumber: 1,
        username: r() < 0.5 ? 'Administrator' : 'root',
        publicIp: r() < 0.5 ? `192.0.2.${Math.floor(r() * 250)}` : null,
        publicPort: null,
        privateIp: r() < 0.6 ? `172.16.${Math.floor(r() * 250)}.${Math.floor(r() * 250)}` : null,
        hostname: host,
        os: r() < 0.7 ? pick(r, ['Windows Server 2022', 'Red Hat Enterprise Linux 9']) : null,
      },
    ];
  }

  /** Events spread over the planned duration; only those up to `untilMs` have happened. */
  #events(
    r: Random,
    i: number,
    start: number,
    plannedEnd: number,
    untilMs: number,
    reps: SessionRepresentative[],
    customers: SessionCustomer[],
  ): SessionEvent[] {
    const owner = reps[0]!;
    const cust = customers[0]!;
    const repParty = (rep: SessionRepresentative) => ({
      type: 'representative',
      gsnumber: rep.gsnumber,
      name: rep.displayName ?? '',
    });
    const custParty = { type: 'customer', gsnumber: cust.gsnumber, name: cust.hostname ?? '' };
    const system = { type: 'system', gsnumber: null, name: 'System' };
    const planned: Omit<SessionEvent, 'seq' | 'time'>[] = [
      {
        type: 'Session Start',
        performedBy: system,
        destination: null,
        body: null,
        files: [],
        data: [],
        systemInformation: [],
      },
      ...reps.map((rep) => ({
        type: 'Conference Member Added',
        performedBy: system,
        destination: repParty(rep),
        body: null,
        files: [],
        data: [{ name: 'jump_method', value: 'Jump Client' }],
        systemInformation: [],
      })),
    ];
    if (r() < 0.5)
      planned.push({
        type: 'System Information Retrieved',
        performedBy: repParty(owner),
        destination: null,
        body: null,
        files: [],
        data: [],
        systemInformation: [
          { category: 'Overview', field: 'Computer Name', value: cust.hostname ?? '', row: null },
          { category: 'Overview', field: 'Uptime', value: `${i % 90} days`, row: null },
          { category: 'Processes', field: 'Name', value: 'sshd', row: 0 },
          { category: 'Processes', field: 'PID', value: String(100 + (i % 900)), row: 0 },
          { category: 'Processes', field: 'Name', value: 'explorer.exe', row: 1 },
          { category: 'Processes', field: 'PID', value: String(2000 + (i % 900)), row: 1 },
        ],
      });
    const chats = Math.floor(r() * 4);
    for (let k = 0; k < chats; k++) {
      const fromRep = r() < 0.6;
      planned.push({
        type: 'Chat Message',
        performedBy: fromRep ? repParty(owner) : custParty,
        destination: fromRep ? custParty : repParty(owner),
        body: pick(r, CHAT),
        files: [],
        data: [],
        systemInformation: [],
      });
    }
    if (r() < 0.4) {
      const many = r() < 0.5;
      const files = many
        ? FILES.slice(0, 2).map((f, k) => ({ filename: f, filesize: 1000 * (k + 1) + (i % 100) }))
        : [{ filename: pick(r, FILES), filesize: r() < 0.9 ? 4096 + (i % 1000) : null }];
      planned.push({
        type: many ? 'Files Uploaded' : 'File Download',
        performedBy: repParty(owner),
        destination: custParty,
        body: null,
        files,
        data: [],
        systemInformation: [],
      });
    }
    planned.push({
      type: 'Session End',
      performedBy: system,
      destination: null,
      body: null,
      files: [],
      data: [{ name: 'reason', value: 'Representative closed the session' }],
      systemInformation: [],
    });
    const span = plannedEnd - start;
    const last = planned.length - 1;
    return planned
      .map((e, k) => ({
        ...e,
        seq: k,
        time: secondsDate(k === last ? plannedEnd : start + Math.floor((span * k) / (last + 1))),
      }))
      .filter((e) => e.time.getTime() <= untilMs);
  }
}
