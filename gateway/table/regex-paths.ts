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

export interface RegexHit<T> {
  value: T;
  /** Capture groups 1..n of the matching pattern ("" for a group that took no part), when asked for. */
  captures: readonly string[] | null;
}

interface Entry<T> {
  value: T;
  /** Compiled when the route needs its captures (a rewrite), else null: the set alone decides the match. */
  re: RE2JS | null;
  pattern: string;
}

/**
 * One host's Regex routes, compiled once per table: an RE2 set (one automaton for every pattern) says which
 * patterns match, and the first in table order wins, as nginx takes the first regex location that matches.
 * Only the winner is run again, and only when its captures are needed.
 */
export class RegexRoutes<T> {
  private readonly entries: Entry<T>[];
  private readonly set: RE2Set | null;

  /** `routes` in precedence order; every pattern must have passed regexProblem (validate() checks it). */
  constructor(routes: readonly { pattern: string; value: T; captures: boolean }[]) {
    this.entries = routes.map((r) => ({ value: r.value, pattern: r.pattern, re: r.captures ? compileRegexPath(r.pattern) : null }));
    let set: RE2Set | null = new RE2Set(RE2Set.UNANCHORED, RE2JS.CASE_INSENSITIVE);
    try {
      for (const r of routes) set.add(`^${r.pattern}`);
      set.compile();
    } catch {
      // Over RE2's program size limit (the bounds above keep a valid table below it): try one pattern at a time.
      set = null;
    }
    this.set = set;
  }

  get size(): number {
    return this.entries.length;
  }

  find(path: string): RegexHit<T> | null {
    let index = -1;
    if (this.set !== null) {
      const hits = this.set.match(path);
      for (const i of hits) if (index === -1 || i < index) index = i;
    } else {
      for (let i = 0; i < this.entries.length; i++) {
        const e = this.entries[i]!;
        if ((e.re ?? (e.re = compileRegexPath(e.pattern))).test(path)) {
          index = i;
          break;
        }
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
