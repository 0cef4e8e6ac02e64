export const RULES: Record<string, string[]>;
export const COMMAND_RULES: Record<string, string[]>;
export const SUBFOLDER_RULES: Record<string, string[]>;
export interface Specifier {
  spec: string | null;
  form: string;
  line: number;
}
export function specifiersOf(file: string, source: string): Specifier[];
export function importsOf(file: string, source: string): (Specifier & { target: string | null })[];
export function checkDependencies(files: Map<string, string>): string[];
export function readSources(root: string, dir?: string): Map<string, string>;
