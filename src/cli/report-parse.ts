import { readFile } from 'node:fs/promises';
import { decodeReport, parseReport } from '../reporting/report-xml-parser.js';
import { isServiceError, ServiceError } from '../platform/errors.js';
import type { SessionRecord } from '../reporting/session-record.js';
import { EXIT, usage, write, type CommandRun } from './command.js';

/** The normalised session as printed: `hostName` only when `--host` names the site. */
function jsonSession(s: SessionRecord, host: string | undefined): Record<string, unknown> {
  const { hostName: _omit, lsid, ...rest } = s;
  return host ? { lsid, hostName: host, ...rest } : { lsid, ...rest };
}

function line(s: SessionRecord): string {
  const iso = (d: Date | null) => (d ? d.toISOString().replace('.000Z', 'Z') : 'in progress');
  return [
    s.lsid,
    `${iso(s.startTime)} .. ${iso(s.endTime)}`,
    s.duration ?? '-',
    `rep ${s.primaryRep?.name ?? '-'}`,
    `endpoint ${s.primaryCustomer?.name ?? '-'}`,
    `${s.events.length} events`,
    s.externalKey ? `ticket ${s.externalKey}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

export const runReportParse: CommandRun = async (args, io, command) => {
  const file = args.positionals[0];
  if (!file || args.positionals.length > 1) return usage(io, command.usage);
  const host = args.values.host as string | undefined;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new ServiceError('cli.usage', `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, {
      op: 'report.parse',
    });
  }
  let parsed;
  try {
    const ctx = { site: 'file', hostName: host ?? '', report: 'saved', window: file };
    parsed = parseReport(decodeReport(bytes, ctx), ctx);
  } catch (e) {
    if (!isServiceError(e)) throw e;
    // The report's own words, with the file as the place: the worker's site/window wording does not apply.
    write(io.stderr, `${file}: [${e.code}] ${String(e.details?.reason ?? e.message)}`);
    return EXIT.failed;
  }
  if (args.values.json) {
    const doc =
      parsed.kind === 'listing'
        ? { summaries: parsed.summaries }
        : { sessions: parsed.sessions.map((s) => jsonSession(s, host)) };
    write(io.stdout, JSON.stringify(doc, null, 2));
    return EXIT.ok;
  }
  if (parsed.kind === 'listing') {
    for (const s of parsed.summaries) write(io.stdout, `${s.lsid}  ${s.hasRecording ? 'recorded' : 'no recording'}`);
    write(
      io.stdout,
      `${parsed.summaries.length} session(s) listed, ${parsed.summaries.filter((s) => s.hasRecording).length} with a recording`,
    );
    return EXIT.ok;
  }
  for (const s of parsed.sessions) write(io.stdout, line(s));
  write(
    io.stdout,
    `${parsed.sessions.length} session(s), ${parsed.sessions.filter((s) => s.endTime === null).length} in progress, ${parsed.sessions.reduce((n, s) => n + s.events.length, 0)} events`,
  );
  return EXIT.ok;
};
