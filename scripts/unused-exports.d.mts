import type ts from 'typescript';

export function projectProgram(root?: string): ts.Program;
export function typeErrors(program: ts.Program, root?: string): string;
export function unusedExports(root?: string, program?: ts.Program): string[];
