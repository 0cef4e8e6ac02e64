import type { EventParty, SessionEvent, SessionRecord } from '../../../reporting/session-record.js';
import type { GeneratedSession } from './session-generator.js';

/** The two namespaces seen for report XML, and a prefixed variant of the real one. */
export const REPORT_NAMESPACES = {
  real: 'http://www.beyondtrust.com/sra/namespaces/API/reporting',
  docs: 'https://www.beyondtrust.com/namespaces/API/reporting',
} as const;

export type NamespaceStyle = 'real' | 'docs' | 'prefixed';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

// Characters XML 1.0 cannot carry even escaped: the appliance base64-encodes such bodies.
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Renders report documents the way the appliance does, quirks included (ports in IPs, `Unknown`
 * literals, unix or ISO event times, encoded_body, optional empty lists). Output is produced in
 * pieces (head, one session, tail) so the handler can stream any number of sessions.
 */
export class ReportXmlWriter {
  readonly #p: string;

  constructor(readonly style: NamespaceStyle) {
    this.#p = style === 'prefixed' ? 'ns:' : '';
  }

  head(root: 'session_list' | 'session_summary_list'): string {
    const ns = this.style === 'docs' ? REPORT_NAMESPACES.docs : REPORT_NAMESPACES.real;
    const xmlns = this.style === 'prefixed' ? `xmlns:ns="${ns}"` : `xmlns="${ns}"`;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<${this.#p}${root} ${xmlns}>\n`;
  }

  tail(root: 'session_list' | 'session_summary_list'): string {
    return `</${this.#p}${root}>\n`;
  }

  /** An `<error>` document (the whole response). */
  error(message: string): string {
    const ns = this.style === 'docs' ? REPORT_NAMESPACES.docs : REPORT_NAMESPACES.real;
    return `<?xml version="1.0" encoding="UTF-8"?>\n<error xmlns="${ns}">${escapeXml(message)}</error>\n`;
  }

  summary(lsid: string, hasRecording: boolean): string {
    return `  <${this.#p}session_summary lsid="${lsid}" has_recording="${hasRecording ? 1 : 0}"/>\n`;
  }

  #el(
    name: string,
    content: string | null | undefined,
    attrs: Record<string, string | number | null | undefined> = {},
  ): string {
    const a = Object.entries(attrs)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
      .join('');
    const tag = this.#p + name;
    return content === null || content === undefined || content === ''
      ? `<${tag}${a}/>`
      : `<${tag}${a}>${content}</${tag}>`;
  }

  #text(
    name: string,
    value: string | null | undefined,
    attrs: Record<string, string | number | null | undefined> = {},
  ): string {
    return this.#el(name, value === null || value === undefined ? '' : escapeXml(value), attrs);
  }

  #list(name: string, items: string[], emptyElement: boolean): string {
    if (items.length === 0) return emptyElement ? this.#el(name, '') : '';
    return this.#el(name, items.join(''));
  }

  #time(name: string, d: Date | null): string {
    if (!d) return this.#el(name, '');
    return this.#text(name, isoWithOffset(d), { timestamp: Math.floor(d.getTime() / 1000) });
  }

  #optional(name: string, value: string | null, unknownLiteral: boolean): string {
    if (value !== null) return this.#text(name, value);
    return unknownLiteral ? this.#text(name, 'Unknown') : '';
  }

  #party(name: string, p: EventParty | null): string {
    return p ? this.#text(name, p.name, { type: p.type, gsnumber: p.gsnumber }) : '';
  }

  #event(e: SessionEvent, iso: boolean): string {
    const body =
      e.body === null
        ? ''
        : XML_INVALID.test(e.body)
          ? this.#text('encoded_body', Buffer.from(e.body, 'utf8').toString('base64'))
          : this.#text('body', e.body);
    const single = e.files.length === 1 && e.type !== 'Files Uploaded';
    const files = single
      ? this.#text('filename', e.files[0]!.filename) +
        (e.files[0]!.filesize === null ? '' : this.#text('filesize', String(e.files[0]!.filesize)))
      : this.#list(
          'files',
          e.files.map((f) =>
            this.#el(
              'file',
              this.#text('filename', f.filename) +
                (f.filesize === null ? '' : this.#text('filesize', String(f.filesize))),
            ),
          ),
          false,
        );
    const data = this.#list(
      'data',
      e.data.map((d) => this.#el('value', '', { name: d.name, value: d.value })),
      false,
    );
    const categories = [...new Set(e.systemInformation.map((s) => s.category))].map((cat) => {
      const rows = e.systemInformation.filter((s) => s.category === cat);
      const flat = rows.filter((s) => s.row === null).map((s) => this.#text('field', s.value, { name: s.field }));
      const rowIds = [...new Set(rows.filter((s) => s.row !== null).map((s) => s.row))];
      const table =
        rowIds.length === 0
          ? ''
          : this.#el(
              'data',
              rowIds
                .map((id) =>
                  this.#el(
                    'row',
                    rows
                      .filter((s) => s.row === id)
                      .map((s) => this.#text('field', s.value, { name: s.field }))
                      .join(''),
                  ),
                )
                .join(''),
            );
      return this.#el('category', flat.join('') + table, { name: cat });
    });
    const sysinfo = categories.length ? this.#el('system_information', categories.join('')) : '';
    const ts = iso ? isoWithOffset(e.time) : Math.floor(e.time.getTime() / 1000);
    return (
      '      ' +
      this.#el(
        'event',
        this.#party('performed_by', e.performedBy) +
          this.#party('destination', e.destination) +
          body +
          files +
          data +
          sysinfo,
        { timestamp: ts, event_type: e.type },
      ) +
      '\n'
    );
  }

  /** One `<session>` element. */
  session(g: GeneratedSession, product: 'pra' | 'rs'): string {
    const s: SessionRecord = g.record;
    const q = g.quirks;
    const ip = (addr: string | null, port: number | null) =>
      addr === null ? null : port === null ? addr : addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
    const parts = [
      this.#text('session_type', s.type),
      this.#text('lseq', s.lseq === null ? null : String(s.lseq)),
      this.#time('start_time', s.startTime),
      this.#time('end_time', s.endTime),
      this.#text('duration', s.duration),
      this.#text('external_key', s.externalKey),
      product === 'rs' ? this.#text('public_site', s.publicSiteName, { id: s.publicSiteId }) : '',
      this.#list(
        'custom_attributes',
        s.customAttributes.map((a) =>
          this.#text('custom_attribute', a.value, { code_name: a.codeName, display_name: a.displayName }),
        ),
        q.emptyListElements,
      ),
      s.chatViewUrl
        ? this.#text('session_chat_view_url', s.chatViewUrl) +
          this.#text('session_chat_download_url', s.chatDownloadUrl)
        : '',
      s.recordingViewUrl
        ? this.#text('session_recording_view_url', s.recordingViewUrl) +
          this.#text('session_recording_download_url', s.recordingDownloadUrl)
        : '',
      this.#list(
        'command_shell_recordings',
        s.shellRecordings.map((r) =>
          this.#el(
            'command_shell_recording',
            this.#text('download_url', r.downloadUrl) + (r.viewUrl ? this.#text('view_url', r.viewUrl) : ''),
            { instance: r.instance },
          ),
        ),
        q.emptyListElements,
      ),
      this.#text('file_transfer_count', String(s.fileTransferCount)),
      this.#text('file_move_count', String(s.fileMoveCount)),
      this.#text('file_delete_count', String(s.fileDeleteCount)),
      s.primaryCustomer
        ? this.#text('primary_customer', s.primaryCustomer.name, { gsnumber: s.primaryCustomer.gsnumber })
        : '',
      s.jumpGroup ? this.#text('jump_group', s.jumpGroup.name, { id: s.jumpGroup.id, type: s.jumpGroup.type }) : '',
      s.jumpoint ? this.#text('jumpoint', s.jumpoint.name, { id: s.jumpoint.id }) : '',
      s.primaryRep
        ? this.#text('primary_rep', s.primaryRep.name, { gsnumber: s.primaryRep.gsnumber, id: s.primaryRep.id })
        : '',
      product === 'rs'
        ? this.#list(
            'team_list',
            s.teams.map((t) => this.#text('team', t.name, { id: t.id })),
            q.emptyListElements,
          )
        : '',
      this.#list(
        'customer_list',
        s.customers.map((c) =>
          this.#el(
            'customer',
            [
              this.#text('username', c.username),
              this.#text('public_ip', ip(c.publicIp, c.publicPort)),
              this.#optional('private_ip', c.privateIp, q.unknownLiterals),
              this.#text('hostname', c.hostname),
              this.#optional('os', c.os, q.unknownLiterals),
            ].join(''),
            { gsnumber: c.gsnumber },
          ),
        ),
        q.emptyListElements,
      ),
      this.#list(
        'rep_list',
        s.representatives.map((r) =>
          this.#el(
            'representative',
            [
              this.#text('username', r.username),
              this.#text('display_name', r.displayName),
              this.#text('public_display_name', r.publicDisplayName),
              this.#optional('private_display_name', r.privateDisplayName, false),
              this.#text('public_ip', ip(r.publicIp, r.publicPort)),
              this.#optional('private_ip', r.privateIp, q.unknownLiterals),
              this.#text('hostname', r.hostname),
              this.#optional('os', r.os, q.unknownLiterals),
              this.#text('session_owner', r.sessionOwner ? '1' : '0'),
              this.#text('seconds_involved', r.secondsInvolved === null ? null : String(r.secondsInvolved)),
              r.invited ? this.#text('invited', '1') : '',
            ].join(''),
            { gsnumber: r.gsnumber, id: r.id },
          ),
        ),
        q.emptyListElements,
      ),
      '\n' +
        this.#el('session_details', '\n' + s.events.map((e) => this.#event(e, q.isoEventTimes)).join('') + '    ') +
        '\n',
    ];
    return `  ${this.#el('session', '\n    ' + parts.filter((p) => p !== '').join('\n    ') + '  ', { lsid: s.lsid })}\n`;
  }
}

/** ISO-8601 with an explicit offset, as the appliance writes it (here always +00:00). */
export function isoWithOffset(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
