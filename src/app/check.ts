/** One line of `ecm-bridge check`. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  /** What to do when not ok (or when `warning`). */
  fix?: string;
  /** Works, but something needs attention (shown as WARN; not a failure). */
  warning?: boolean;
}

export interface Check {
  component: string;
  name: string;
  run(signal: AbortSignal): Promise<CheckResult>;
}
