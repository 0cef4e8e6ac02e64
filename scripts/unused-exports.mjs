// Exports of src/ that nothing uses: dead code the compiler cannot see (`noUnusedLocals` skips
// exports). Uses are read with the type checker over the project's program (src/, test/,
// scripts/), so a named import, a re-export that is itself used, `ns.name`, a destructured
// dynamic import and a type reference all count. A use inside the declaring file counts too: a
// type exported because an exported function's signature names it is part of that function. The .mjs files that load the compiled dist/ (scripts, a crash-test child) are read for
// their named imports.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

/** The project's program (tsconfig.json: src/, test/, scripts/), as `tsc --noEmit` builds it. */
export function projectProgram(root = '.') {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  return ts.createProgram({ rootNames: config.fileNames, options: { ...config.options, noEmit: true } });
}

/** Type errors of the program, formatted as `tsc` prints them (empty when it type-checks). */
export function typeErrors(program, root = '.') {
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return diagnostics.length === 0
    ? ''
    : ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => join(process.cwd(), root),
        getNewLine: () => '\n',
      });
}

/**
 * Every export of a src/ file that nothing uses, as `file: name …` lines. `program` lets the lint
 * reuse the one it type-checked (building it is most of the cost).
 */
export function unusedExports(root = '.', program = projectProgram(root)) {
  const checker = program.getTypeChecker();
  const rel = (f) => relative(root, f);
  const used = new Set();

  // Some aliases (a shorthand binding of a namespace object) have no alias declaration to step
  // through one at a time: take their target at once.
  const immediate = (s) => {
    try {
      return checker.getImmediateAliasedSymbol(s);
    } catch {
      return checker.getAliasedSymbol(s);
    }
  };
  const ultimate = (symbol) => {
    const chain = [symbol];
    let s = symbol;
    while (s.flags & ts.SymbolFlags.Alias) {
      const next = immediate(s);
      if (!next || chain.includes(next)) break;
      chain.push(next);
      s = next;
    }
    return chain.map((c) => checker.getExportSymbolOfSymbol(c));
  };
  const use = (symbol, node) => {
    const from = node.getSourceFile().fileName;
    for (const s of ultimate(symbol)) {
      const declarations = s.declarations ?? [];
      if (declarations.some((d) => d.getSourceFile().fileName !== from)) used.add(s);
      else if (!declarations.some((d) => ts.getNameOfDeclaration(d) === node)) used.add(s);
    }
  };

  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || rel(sf.fileName).startsWith('node_modules')) continue;
    const visit = (node) => {
      // `export { a }` and `export { a } from './x.js'` are no use of `a` by themselves: only if
      // the export is used elsewhere (the alias chain then marks `a`).
      if (ts.isExportSpecifier(node)) return;
      if (ts.isIdentifier(node)) {
        const symbol = checker.getSymbolAtLocation(node);
        if (symbol) use(symbol, node);
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        // const { a } = await import('./x.js'): the property of the module's namespace.
        const name = node.propertyName ?? node.name;
        if (ts.isIdentifier(name)) {
          const holder = node.parent.parent;
          const from = ts.isVariableDeclaration(holder) && holder.initializer ? holder.initializer : node.parent;
          const prop = checker.getTypeAtLocation(from).getProperty(name.text);
          if (prop) use(prop, name);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  const fromDist = distImports(root);
  const problems = [];
  for (const sf of program.getSourceFiles()) {
    const file = rel(sf.fileName);
    if (!file.startsWith('src/') || sf.isDeclarationFile) continue;
    const module = checker.getSymbolAtLocation(sf);
    if (!module) continue;
    for (const e of checker.getExportsOfModule(module)) {
      const symbol = checker.getExportSymbolOfSymbol(e);
      if (used.has(symbol) || used.has(e) || fromDist.has(`${file}#${e.name}`)) continue;
      problems.push(`${file}: ${e.name} is exported but used nowhere (not even in its own file)`);
    }
  }
  return problems.sort();
}

/** `src/x.ts#name` for each named import of compiled code (`…/dist/x.js`) in the .mjs files. */
function distImports(root) {
  const out = new Set();
  const walk = (d) =>
    (existsSync(join(root, d)) ? readdirSync(join(root, d)) : []).flatMap((n) => {
      const p = join(d, n);
      return statSync(join(root, p)).isDirectory() ? walk(p) : p.endsWith('.mjs') ? [p] : [];
    });
  for (const file of [...walk('scripts'), ...walk('test')]) {
    const sf = ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest);
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      const target = normalize(join(dirname(file), st.moduleSpecifier.text));
      if (!target.startsWith('dist/')) continue;
      const source = target.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
      const named = st.importClause?.namedBindings;
      if (named && ts.isNamedImports(named))
        for (const el of named.elements) out.add(`${source}#${(el.propertyName ?? el.name).text}`);
    }
  }
  return out;
}
