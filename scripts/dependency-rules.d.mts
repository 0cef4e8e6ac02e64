export const RULES: Record<string, string[]>;
export function importsOf(file: string, source: string): string[];
export function checkDependencies(files: Map<string, string>): string[];
export function readSources(root: string, dir?: string): Map<string, string>;
