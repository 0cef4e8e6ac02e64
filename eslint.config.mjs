// Type-aware checks for bugs the compiler lets through (docs/adr/0008-checks-that-read-like-the-compiler.md):
// a promise nobody awaits or catches (its rejection crashes the process or is lost), a promise
// where a callback's result is ignored (an async listener), a switch that misses a member of a
// union. Only these rules, only src/: style is prettier's, the rest is tsc's.
import tseslint from 'typescript-eslint';

export default tseslint.config({
  files: ['src/**/*.ts'],
  languageOptions: {
    parser: tseslint.parser,
    parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
  },
  plugins: { '@typescript-eslint': tseslint.plugin },
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  rules: {
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-misused-promises': 'error',
    // A `default:` is a decision to cover the rest; a switch without one must name every member.
    '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
  },
});
