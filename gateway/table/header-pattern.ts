// canary-by-header-pattern: a regular expression matched against a request header on every request of a canary
// route. ingress-nginx hands it to ngx.re.match (PCRE, unanchored search). A JavaScript RegExp backtracks, so a
// pattern such as `(a+)+b` or even `\w*\w*\w*x` takes exponential or high-polynomial time on a long header: a
// client could stall a worker. So patterns are compiled here, once per table, into a Thompson NFA and run by a
// Pike-style simulation, in time linear in the header length times the program size (both bounded below).
//
// The subset (a pattern outside it is refused at compile time with a diagnostic, and by validate()):
//   literals; `.` (any character but newline); `^` and `$` (start and end of the value); character classes
//   `[...]` and `[^...]` with ranges; escapes `\d \D \w \W \s \S \t \n \r` and a backslash before any punctuation;
//   groups `(...)` and `(?:...)`; alternation `|`; quantifiers `* + ? {n} {n,} {n,m}` (m at most MAX_COUNT),
//   also lazy (`*?`: only whether the value matches is asked, so lazy and greedy agree).
// Refused: back-references, look-around, `\b`, possessive quantifiers, inline flags, named groups, `\p{..}`.
// Matching is case-sensitive over UTF-16 code units, as PCRE without the `u` and `i` options is over bytes for
// ASCII values.

import { PorticoError } from './portico-error.ts';

export const MAX_PATTERN_LENGTH = 256;
const MAX_COUNT = 100;
const MAX_PROGRAM = 4000;

type Test = (c: number) => boolean;

type Node =
  | { t: 'char'; test: Test }
  | { t: 'bol' }
  | { t: 'eol' }
  | { t: 'empty' }
  | { t: 'cat'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; node: Node; min: number; max: number };

type Inst =
  | { op: 'char'; test: Test }
  | { op: 'split'; x: number; y: number }
  | { op: 'jmp'; x: number }
  | { op: 'bol' }
  | { op: 'eol' }
  | { op: 'match' };

export class HeaderPatternError extends PorticoError {
  readonly code = 'PORTICO_HEADER_PATTERN';
}

const NL = 10;
const isDigit: Test = (c) => c >= 48 && c <= 57;
const isWord: Test = (c) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
// PCRE's \s: space, \t \n \v \f \r.
const isSpace: Test = (c) => c === 32 || (c >= 9 && c <= 13);

/** Class escapes (`\d` ...) and single-character escapes; null when the escape is outside the subset. */
function escapeTest(ch: string): Test | number | null {
  switch (ch) {
    case 'd':
      return isDigit;
    case 'D':
      return (c) => !isDigit(c);
    case 'w':
      return isWord;
    case 'W':
      return (c) => !isWord(c);
    case 's':
      return isSpace;
    case 'S':
      return (c) => !isSpace(c);
    case 't':
      return 9;
    case 'n':
      return NL;
    case 'r':
      return 13;
    default:
      // A backslash before punctuation is that character; before a letter or digit it is a feature outside the
      // subset (\b, \1, \p, \x, ...).
      return /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e ]$/.test(ch) ? ch.charCodeAt(0) : null;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): Node {
    const n = this.alt();
    if (this.i < this.s.length) this.fail(`unexpected ${JSON.stringify(this.s[this.i])}`);
    return n;
  }

  private fail(why: string): never {
    throw new HeaderPatternError(`${why} at offset ${this.i}`);
  }

  private alt(): Node {
    const items = [this.cat()];
    while (this.s[this.i] === '|') {
      this.i++;
      items.push(this.cat());
    }
    return items.length === 1 ? items[0]! : { t: 'alt', items };
  }

  private cat(): Node {
    const items: Node[] = [];
    while (this.i < this.s.length && this.s[this.i] !== '|' && this.s[this.i] !== ')') items.push(this.repeat());
    return items.length === 0 ? { t: 'empty' } : items.length === 1 ? items[0]! : { t: 'cat', items };
  }

  private repeat(): Node {
    const atom = this.atom();
    const c = this.s[this.i];
    let min: number;
    let max: number;
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      [min, max] = c === '*' ? [0, Infinity] : c === '+' ? [1, Infinity] : [0, 1];
    } else if (c === '{' && /^\{\d+(,\d*)?\}/.test(this.s.slice(this.i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i))!;
      this.i += m[0].length;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (min > MAX_COUNT || (max !== Infinity && max > MAX_COUNT)) this.fail(`a count above ${MAX_COUNT}`);
      if (max < min) this.fail('a count range out of order');
    } else {
      return atom;
    }
    if (atom.t === 'bol' || atom.t === 'eol') this.fail('a quantifier on an anchor');
    if (this.s[this.i] === '+') this.fail('a possessive quantifier');
    if (this.s[this.i] === '?') this.i++; // lazy: same answer to "does it match"
    const next = this.s[this.i];
    if ((next !== undefined && '*+?'.includes(next)) || (this.s[this.i] === '{' && /^\{\d/.test(this.s.slice(this.i))))
      this.fail('a quantifier after a quantifier');
    return { t: 'rep', node: atom, min, max };
  }

  private atom(): Node {
    const c = this.s[this.i++]!;
    switch (c) {
      case '(': {
        if (this.s[this.i] === '?') {
          if (this.s[this.i + 1] !== ':') this.fail('a group other than (...) or (?:...)');
          this.i += 2;
        }
        const n = this.alt();
        if (this.s[this.i] !== ')') this.fail('an unclosed group');
        this.i++;
        return n;
      }
      case ')':
        return this.fail('an unopened group');
      case '[':
        return { t: 'char', test: this.charClass() };
      case '.':
        return { t: 'char', test: (x) => x !== NL };
      case '^':
        return { t: 'bol' };
      case '$':
        return { t: 'eol' };
      case '*':
      case '+':
      case '?':
        return this.fail('a quantifier with nothing to repeat');
      case '\\': {
        const e = this.escape();
        return { t: 'char', test: typeof e === 'number' ? (x) => x === e : e };
      }
      default: {
        const code = c.charCodeAt(0);
        return { t: 'char', test: (x) => x === code };
      }
    }
  }

  private escape(): Test | number {
    const ch = this.s[this.i++];
    if (ch === undefined) this.fail('a trailing backslash');
    const e = escapeTest(ch);
    if (e === null) this.fail(`the escape \\${ch}`);
    return e;
  }

  private charClass(): Test {
    const negate = this.s[this.i] === '^';
    if (negate) this.i++;
    const ranges: [number, number][] = [];
    const tests: Test[] = [];
    let first = true;
    for (;;) {
      if (this.i >= this.s.length) this.fail('an unclosed character class');
      const c = this.s[this.i]!;
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      if (c === '[' && /^\[[:=.]/.test(this.s.slice(this.i))) this.fail('a POSIX class');
      this.i++;
      let lo: number;
      if (c === '\\') {
        const e = this.escape();
        if (typeof e !== 'number') {
          tests.push(e);
          continue;
        }
        lo = e;
      } else {
        lo = c.charCodeAt(0);
      }
      let hi = lo;
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']' && this.i + 1 < this.s.length) {
        this.i++;
        const d = this.s[this.i++]!;
        const e = d === '\\' ? this.escape() : d.charCodeAt(0);
        if (typeof e !== 'number') this.fail('a range ending in a class escape');
        hi = e;
        if (hi < lo) this.fail('a range out of order');
      }
      ranges.push([lo, hi]);
    }
    const inClass = (x: number): boolean => ranges.some(([a, b]) => x >= a && x <= b) || tests.some((t) => t(x));
    return negate ? (x) => !inClass(x) : inClass;
  }
}

function emit(n: Node, prog: Inst[]): void {
  if (prog.length > MAX_PROGRAM) throw new HeaderPatternError(`the pattern compiles to more than ${MAX_PROGRAM} steps`);
  switch (n.t) {
    case 'char':
      prog.push({ op: 'char', test: n.test });
      return;
    case 'bol':
    case 'eol':
      prog.push({ op: n.t });
      return;
    case 'empty':
      return;
    case 'cat':
      for (const item of n.items) emit(item, prog);
      return;
    case 'alt': {
      const jumps: { op: 'jmp'; x: number }[] = [];
      n.items.forEach((item, k) => {
        if (k === n.items.length - 1) {
          emit(item, prog);
          return;
        }
        const split: Inst = { op: 'split', x: prog.length + 1, y: 0 };
        prog.push(split);
        emit(item, prog);
        const j = { op: 'jmp' as const, x: 0 };
        jumps.push(j);
        prog.push(j);
        split.y = prog.length;
      });
      for (const j of jumps) j.x = prog.length;
      return;
    }
    case 'rep': {
      for (let k = 0; k < n.min; k++) emit(n.node, prog);
      if (n.max === Infinity) {
        const loop = prog.length;
        const split: Inst = { op: 'split', x: loop + 1, y: 0 };
        prog.push(split);
        emit(n.node, prog);
        prog.push({ op: 'jmp', x: loop });
        split.y = prog.length;
        return;
      }
      const skips: Extract<Inst, { op: 'split' }>[] = [];
      for (let k = n.min; k < n.max; k++) {
        const split: Extract<Inst, { op: 'split' }> = { op: 'split', x: prog.length + 1, y: 0 };
        skips.push(split);
        prog.push(split);
        emit(n.node, prog);
      }
      for (const s of skips) s.y = prog.length;
      return;
    }
  }
}

/** A compiled pattern: `test(value)` says whether it matches anywhere in the value (PCRE's unanchored search). */
export interface HeaderPattern {
  readonly source: string;
  test(value: string): boolean;
}

/** Compiles a pattern of the subset; throws HeaderPatternError (with what is outside the subset) otherwise. */
export function compileHeaderPattern(source: string): HeaderPattern {
  if (source.length === 0) throw new HeaderPatternError('an empty pattern');
  if (source.length > MAX_PATTERN_LENGTH) throw new HeaderPatternError(`longer than ${MAX_PATTERN_LENGTH} characters`);
  const prog: Inst[] = [];
  emit(new Parser(source).parse(), prog);
  prog.push({ op: 'match' });
  if (prog.length > MAX_PROGRAM) throw new HeaderPatternError(`the pattern compiles to more than ${MAX_PROGRAM} steps`);
  return { source, test: runner(prog) };
}

/** The problem with a pattern, or null when it is in the subset. */
export function headerPatternProblem(source: string): string | null {
  try {
    compileHeaderPattern(source);
    return null;
  } catch (e) {
    if (e instanceof HeaderPatternError) return e.message;
    throw e;
  }
}

/** Pike VM without captures: every live thread advances on each character, a state is held by at most one thread
 * per step, so the work is O(value length × program length). */
function runner(prog: readonly Inst[]): (value: string) => boolean {
  // The buffers are allocated once per pattern and reused: a run never yields, so runs cannot interleave.
  const n = prog.length;
  let clist = new Int32Array(n);
  let nlist = new Int32Array(n);
  const mark = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n * 2 + 2);
  let gen = 0;
  let value = '';
  // Adds pc and everything reachable from it without reading a character; true when that reaches `match`.
  const add = (list: Int32Array, count: number, start: number, pos: number): number => {
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (mark[pc] === gen) continue;
      mark[pc] = gen;
      const inst = prog[pc]!;
      switch (inst.op) {
        case 'match':
          return -1;
        case 'jmp':
          stack[sp++] = inst.x;
          break;
        case 'split':
          stack[sp++] = inst.y;
          stack[sp++] = inst.x;
          break;
        case 'bol':
          if (pos === 0) stack[sp++] = pc + 1;
          break;
        case 'eol':
          if (pos === value.length) stack[sp++] = pc + 1;
          break;
        case 'char':
          list[count++] = pc;
          break;
      }
    }
    return count;
  };
  return (v) => {
    value = v;
    if (gen > 0x3fffffff - v.length) {
      mark.fill(-1);
      gen = 0;
    }
    gen++;
    let ccount = 0;
    let ncount = 0;
    for (let pos = 0; ; pos++) {
      // A new thread at every position: the pattern may match starting anywhere.
      ccount = add(clist, ccount, 0, pos);
      if (ccount < 0) return true;
      if (pos === value.length) return false;
      gen++;
      ncount = 0;
      const c = value.charCodeAt(pos);
      for (let k = 0; k < ccount; k++) {
        const pc = clist[k]!;
        const inst = prog[pc] as Extract<Inst, { op: 'char' }>;
        if (inst.test(c)) {
          ncount = add(nlist, ncount, pc + 1, pos + 1);
          if (ncount < 0) return true;
        }
      }
      [clist, nlist] = [nlist, clist];
      ccount = ncount;
    }
  };
}
