import { readMissingRecordings, type MissingRecordingList } from '../app/missing-recordings-list.js';
import { reportList } from './report-list.js';

/** One block per owed file: where, how often tried, the last error, when next. */
function render(list: MissingRecordingList): string[] {
  if (list.total === 0) return ['no recording owed: every recording file reporting listed was fetched (or given up)'];
  const lines = [
    `${list.total} recording file(s) owed${list.total > list.shown.length ? `, the ${list.shown.length} due soonest:` : ':'}`,
  ];
  for (const e of list.shown)
    lines.push(
      `site ${e.site}  ${e.recording}${e.node ? `  node ${e.node}` : ''}  ${e.attempts} attempt(s), next ${e.nextTryAt}`,
      `  [${e.lastCode}] ${e.lastError}; owed since ${e.firstFailedAt}`,
    );
  return lines;
}

/** `report recordings`: the recording files not fetched yet, retried with backoff (docs/operations.md, "Runbook: missing recordings"). */
export const runReportRecordings = reportList({
  op: 'report.recordings',
  adminOp: 'missing-recordings',
  read: readMissingRecordings,
  render,
});
