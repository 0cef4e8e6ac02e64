import { readQuarantine, type QuarantineList } from '../app/quarantine-list.js';
import { reportList } from './report-list.js';

/** One block per session: the lsid quoted (it may hold spaces or quotes), then why, where and when. */
function render(list: QuarantineList): string[] {
  if (list.total === 0) return ['no quarantined session: every session reported so far passed validation'];
  const lines = [
    `${list.total} quarantined session(s)${list.total > list.shown.length ? `, the ${list.shown.length} seen last:` : ':'}`,
  ];
  for (const e of list.shown)
    lines.push(
      `site ${e.site}  lsid ${JSON.stringify(e.lsid)}  [${e.reason}] ${e.detail}`,
      `  window ${e.window}; first seen ${e.firstSeenAt}, last seen ${e.lastSeenAt}`,
    );
  return lines;
}

/** `report quarantine`: the sessions the reporting worker refused by validation (never stored in BGSessions). */
export const runReportQuarantine = reportList({
  op: 'report.quarantine',
  adminOp: 'quarantine',
  read: readQuarantine,
  render,
});
