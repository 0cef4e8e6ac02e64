/** One line of `ecm-bridge check`. */
export interface CheckResult {
  ok: boolean;
  detail: string;
  /** What to do when not ok. */
  fix?: string;
}

export interface Check {
  component: string;
  name: string;
  run(signal: AbortSignal): Promise<CheckResult>;
}
