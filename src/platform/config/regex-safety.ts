/**
 * Configured regular expressions (user-mapping `regex:` values, release-policy ticket patterns)
 * run against text a console user chooses. JavaScript's backtracking engine takes exponential
 * time on a repeated group that itself repeats or alternates (`(a+)+$`, `(a|aa)*$`) when the
 * input almost matches, so such patterns are refused when the configuration is validated: a
 * 35-character username must never hold the event loop. Simple repetition (`[a-z]+`, `(ab)+`,
 * `(CORP\\)?`) stays allowed; input lengths are bounded at the ECM edge as well.
 */
export function regexProblem(source: string, flags: string): string | undefined {
  try {
    new RegExp(source, flags);
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  const nested = nestedRepetition(source);
  return nested === undefined
    ? undefined
    : `the group ${JSON.stringify(nested)} repeats something that itself repeats or alternates; such patterns can take exponential time on a crafted input (rewrite it without the nesting, e.g. (a+)+ as a+)`;
}

interface Frame {
  start: number;
  repeats: boolean;
  alternates: boolean;
}

/** The first repeated group whose body repeats or alternates, or undefined. Assumes a valid pattern. */
function nestedRepetition(src: string): string | undefined {
  const stack: Frame[] = [{ start: 0, repeats: false, alternates: false }];
  const top = () => stack[stack.length - 1] as Frame;
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      i = skipEscape(src, i);
    } else if (c === '[') {
      i = skipClass(src, i);
    } else if (c === '(') {
      stack.push({ start: i, repeats: false, alternates: false });
      i++;
      continue;
    } else if (c === '|') {
      top().alternates = true;
      i++;
      continue;
    } else if (c === ')') {
      const group = stack.length > 1 ? (stack.pop() as Frame) : undefined;
      i++;
      const q = quantifier(src, i);
      if (group && q.repeating && (group.repeats || group.alternates)) return src.slice(group.start, i + q.length);
      if (group && (group.repeats || q.repeating)) top().repeats = true;
      i += q.length;
      continue;
    } else {
      i++;
    }
    // After an atom (escape, class or literal): its quantifier, if any.
    const q = quantifier(src, i);
    if (q.repeating) top().repeats = true;
    i += q.length;
  }
  return undefined;
}

/** The quantifier at `i` (with its lazy `?`): its length and whether it allows more than one. */
function quantifier(src: string, i: number): { length: number; repeating: boolean } {
  const c = src[i];
  let length = 0;
  let repeating = false;
  if (c === '*' || c === '+') [length, repeating] = [1, true];
  else if (c === '?') length = 1;
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i, i + 24));
    if (m) {
      length = m[0].length;
      // {n} is a fixed count (like writing the atom n times): no choice, so no backtracking.
      repeating = m[2] !== undefined && (m[3] === '' || Number(m[3]) > 1);
    }
  }
  if (length > 0 && src[i + length] === '?') length++;
  return { length, repeating };
}

function skipEscape(src: string, i: number): number {
  const next = src[i + 1];
  // \p{...}, \u{...} and \k<...> are single atoms: their braces are not quantifiers.
  if ((next === 'p' || next === 'P' || next === 'u') && src[i + 2] === '{') {
    const end = src.indexOf('}', i + 3);
    return end === -1 ? src.length : end + 1;
  }
  if (next === 'k' && src[i + 2] === '<') {
    const end = src.indexOf('>', i + 3);
    return end === -1 ? src.length : end + 1;
  }
  return i + 2;
}

function skipClass(src: string, i: number): number {
  let j = i + 1;
  while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
  return j + 1;
}
