/**
 * The console deadline (the appliance's own timer and the deadline the bridge is sent) for
 * requests a test expects answered, not timed out. A loaded machine delays an answer by seconds
 * (a 5 s deadline failed at load 12-18); this one is far beyond the test's own timeout, so load
 * can make such a test slow but never change its outcome. Tests about deadlines set a short one
 * and assert the timeout as the outcome, never how long it took.
 */
export const CONSOLE_DEADLINE_MS = 10 * 60_000;
