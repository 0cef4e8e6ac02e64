import { RE2JS } from 're2js';

/**
 * Configured regular expressions (user-mapping `regex:` values, release-policy ticket patterns,
 * and the same in a Test Settings draft) run against text a console user chooses. JavaScript's
 * own engine backtracks: `^(CORP\\)?a*a*a*a*a*a*$` takes seconds on a 125-character name, and no
 * syntactic check catches every such pattern. These run on RE2's automaton instead (re2js, plain
 * JavaScript), whose time grows linearly with the input whatever the pattern. RE2 has no
 * backreferences or lookaround; a pattern using them is refused at validation with that reason.
 */
export class LinearRegex {
  readonly #re: RE2JS;
  readonly #names: string[];

  private constructor(re: RE2JS) {
    this.#re = re;
    this.#names = Object.keys(re.namedGroups());
  }

  /** Compiles `source`; throws on a pattern `regexProblem` refuses (validated configs never do). */
  static compile(source: string, options: { ignoreCase: boolean }): LinearRegex {
    return new LinearRegex(RE2JS.compile(source, options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
  }

  /** The named groups of the first match anywhere in `text`, or undefined without a match. */
  exec(text: string): Record<string, string> | undefined {
    const m = this.#re.matcher(text);
    if (!m.find()) return undefined;
    const groups: Record<string, string> = {};
    for (const name of this.#names) {
      const v = m.group(name);
      if (v !== null) groups[name] = v;
    }
    return groups;
  }

  test(text: string): boolean {
    return this.#re.test(text);
  }
}

/** Why `source` cannot be a configured pattern, or undefined when it can. */
export function regexProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (e) {
    const reason = (e as Error).message.replace(/^error parsing regexp: /, '');
    return `invalid regular expression: ${reason} (patterns use RE2 syntax, which runs in linear time: no backreferences or lookaround)`;
  }
}
