/** One line of `ecm-bridge check`. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  /** What to do when not ok (or when `warning`). */
  fix?: string;
  /** Works, but something needs attention (shown as WARN; not a failure). */
  warning?: boolean;
  /**
   * The root cause of a failure (e.g. an error code and the account it concerns). Later failures
   * of the same component with the same cause are shown as consequences, not as more failures.
   */
  cause?: string;
}

export interface Check {
  component: string;
  name: string;
  run(signal: AbortSignal): Promise<CheckResult>;
}
