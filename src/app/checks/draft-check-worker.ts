import { parentPort, workerData } from 'node:worker_threads';
import { UserMapper } from '../../broker/user-mapper.js';
import { ConfigError, formatProblem } from '../../platform/config/loader.js';
import { parseDraft, type DraftCheckInput, type DraftCheckResult } from './draft-check.js';

// The worker of `checkDraft`: everything a draft makes the CPU do, once, where a runaway can be killed.
const input = workerData as DraftCheckInput;
let result: DraftCheckResult;
try {
  const draft = parseDraft(input.draftYaml);
  new UserMapper(draft.userMapping).decide({
    user: { username: input.user, ...(input.provider !== undefined && { securityProvider: { name: input.provider } }) },
    ...(input.jumpGroup !== undefined && { jumpGroup: input.jumpGroup }),
  });
  result = { kind: 'ok' };
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  result = { kind: 'invalid', problems: e.problems.map((p) => formatProblem('draft', p)) };
}
parentPort?.postMessage(result);
