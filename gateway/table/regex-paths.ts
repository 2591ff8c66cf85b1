// Regular-expression paths (schema 5, pathType "Regex"): ingress-nginx's use-regex and rewrite-target, which
// write every location of the server as `location ~* "^<path>"` (its template's buildLocation, enforceRegex).
// The engine is re2js, a pure-JS port of RE2: matching is linear in the path's length whatever the pattern, so a
// pattern in an Ingress cannot stall a worker (no catastrophic backtracking), and it runs on Node, Deno and
// workerd alike. RE2 has no backreferences and no lookaround: a pattern that needs them is refused here, and the
// compiler drops that path alone with a diagnostic.
import { RE2JS, RE2Set } from 're2js';

/** Longest pattern accepted, in characters (ingress-nginx has none; nginx's own line limit is far above). */
export const MAX_REGEX_PATH_LENGTH = 1024;
/** Most Regex routes on one host: with the per-pattern program bound below, the host's set stays far below
 * RE2's program size limit, and compiling it stays in the tens of milliseconds per thousand (bench/matcher.ts). */
export const MAX_REGEX_ROUTES_PER_HOST = 2000;
/** Largest compiled program of one pattern (RE2 instructions): a few dozen for a path like `/api(/|$)(.*)`. */
export const MAX_REGEX_PROGRAM_SIZE = 600;

// Printable ASCII without space: what a path in an Ingress can sensibly hold, and nothing a log line or a
// diagnostic would render ambiguously.
const PRINTABLE = /^[\x21-\x7e]*$/;

/** The expression a path compiles to: nginx's `~*` (case-insensitive) with the `^` buildLocation puts before it. */
export function compileRegexPath(pattern: string): RE2JS {
  return RE2JS.compile(`^${pattern}`, RE2JS.CASE_INSENSITIVE);
}

/** Why `pattern` cannot be a Regex path, or null when it can. */
export function regexProblem(pattern: string): string | null {
  if (!pattern.startsWith('/')) return 'must start with "/"';
  if (pattern.length > MAX_REGEX_PATH_LENGTH) return `is longer than ${MAX_REGEX_PATH_LENGTH} characters`;
  if (!PRINTABLE.test(pattern)) return 'contains a space, a control or a non-ASCII character';
  let re: RE2JS;
  try {
    re = compileRegexPath(pattern);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return `is not a regular expression the RE2 engine accepts (${why}; RE2 has no backreferences and no lookaround)`;
  }
  if (re.programSize() > MAX_REGEX_PROGRAM_SIZE)
    return `compiles to ${re.programSize()} RE2 instructions, more than ${MAX_REGEX_PROGRAM_SIZE}`;
  return null;
}

/** Whether `pattern` has a `|` outside every group and class: then `^` anchors only its first branch (nginx's
 * `"^/a|/b"` also matches `/b` anywhere), which a start-anchored set cannot express. Unsure (unbalanced): true. */
export function hasTopLevelAlternation(pattern: string): boolean {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') {
      // A class: `]` right after `[` or `[^` is a literal, then everything up to the closing `]`.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      if (i >= pattern.length) return true;
    } else if (c === '(') depth++;
    else if (c === ')') {
      if (--depth < 0) return true;
    } else if (c === '|' && depth === 0) return true;
  }
  return depth !== 0;
}

export interface RegexHit<T> {
  value: T;
  /** Capture groups 1..n of the matching pattern ("" for a group that took no part), when asked for. */
  captures: readonly string[] | null;
}

interface Entry<T> {
  value: T;
  /** The route's own expression: compiled with the table for routes whose captures are needed (a rewrite) or
   * that are tried one by one, else on first use. */
  re: RE2JS | null;
  pattern: string;
}

/**
 * One host's Regex routes, compiled once per table. Patterns go into one RE2 set anchored at the start of the
 * path (one automaton for all of them: its states stay small, as a path's first characters rule most patterns
 * out), which says which patterns match; the first in table order wins, as nginx takes the first regex
 * location that matches. Patterns with a top-level `|` (see hasTopLevelAlternation) are tried one by one, and
 * only while they could still come first. Only the winner is run again, and only when its captures are needed.
 */
export class RegexRoutes<T> {
  private readonly entries: Entry<T>[];
  /** The set's pattern number → index in `entries`. */
  private readonly setIndex: number[] = [];
  /** Indexes of the entries tried one by one, ascending. */
  private readonly oneByOne: number[] = [];
  private readonly set: RE2Set | null;

  /** `routes` in precedence order; every pattern must have passed regexProblem (validate() checks it). */
  constructor(routes: readonly { pattern: string; value: T; captures: boolean }[]) {
    this.entries = routes.map((r) => ({ value: r.value, pattern: r.pattern, re: r.captures ? compileRegexPath(r.pattern) : null }));
    let set: RE2Set | null = new RE2Set(RE2Set.ANCHOR_START, RE2JS.CASE_INSENSITIVE);
    try {
      routes.forEach((r, i) => {
        if (hasTopLevelAlternation(r.pattern)) this.oneByOne.push(i);
        else {
          set?.add(r.pattern);
          this.setIndex.push(i);
        }
      });
      if (this.setIndex.length === 0) set = null;
      else set.compile();
    } catch {
      // Over RE2's program size limit (the bounds above keep a valid table below it): every route one by one.
      set = null;
      this.setIndex.length = 0;
      this.oneByOne.splice(0, this.oneByOne.length, ...routes.map((_, i) => i));
    }
    this.set = set;
    for (const i of this.oneByOne) {
      const e = this.entries[i]!;
      e.re ??= compileRegexPath(e.pattern);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  find(path: string): RegexHit<T> | null {
    let index = -1;
    if (this.set !== null) for (const k of this.set.match(path)) if (index === -1 || this.setIndex[k]! < index) index = this.setIndex[k]!;
    for (const i of this.oneByOne) {
      if (index !== -1 && i > index) break;
      if (this.entries[i]!.re!.test(path)) {
        index = i;
        break;
      }
    }
    if (index === -1) return null;
    const e = this.entries[index]!;
    if (e.re === null) return { value: e.value, captures: null };
    const m = e.re.exec(path);
    if (m === null) return { value: e.value, captures: null };
    const captures: string[] = [];
    for (let g = 1; g < m.length; g++) captures.push(typeof m[g] === 'string' ? (m[g] as string) : '');
    return { value: e.value, captures };
  }
}
