import { cpus, loadavg } from 'node:os';

/** Helpers shared by the benchmarks: repeated runs, their median, the load beside each figure. */

/** The 1-minute load average, rounded, for printing beside a figure measured on a shared machine. */
export function load1(): string {
  return loadavg()[0]!.toFixed(1);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Latency quantile of an unsorted sample (ms). */
export function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

export function machineLine(): string {
  const cpu = cpus();
  return `machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, node ${process.version}`;
}

/** `runs` values of one figure with the load average before each run, printed as "median (a / b / c; load x / y / z)". */
export interface Sampled {
  values: number[];
  loads: string[];
}

export function describe(s: Sampled, digits: number): string {
  return `${median(s.values).toFixed(digits)} (${s.values.map((v) => v.toFixed(digits)).join(' / ')}; load ${s.loads.join(' / ')})`;
}

/** Prints a markdown table. */
export function printTable(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
