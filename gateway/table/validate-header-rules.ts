// validate() for a route's header rules (schema 6, header-rules.ts): exactly the known fields, every list within
// its bounds and order, every name and value within the grammar the compiler produces (snippet-headers.ts), so the
// request path can apply the lists as they are. A table with a malformed rule is refused whole.
import { MAX_HEADER_RULES, prefixProblem, requestNameProblem, responseNameProblem, valueProblem } from './header-rules.ts';
import { isRecord } from './names.ts';

type Bad = (at: string, message: string) => void;

function fields(v: unknown, at: string, known: readonly string[], bad: Bad): v is Record<string, unknown> {
  if (!isRecord(v)) {
    bad(at, 'must be an object');
    return false;
  }
  const keys = Object.keys(v);
  for (const k of keys) if (!known.includes(k)) bad(`${at}.${k}`, 'unknown field');
  if (keys.length === 0) bad(at, 'must not be empty (left out instead)');
  return true;
}

function list(v: unknown, at: string, bad: Bad): v is unknown[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_HEADER_RULES) {
    bad(at, `must be a list of 1 to ${MAX_HEADER_RULES} entries`);
    return false;
  }
  return true;
}

/** [name, value] pairs; `sorted`: by name, distinct. Returns the names. */
function pairs(v: unknown, at: string, nameProblem: (n: string) => string | null, sorted: boolean, bad: Bad): string[] {
  if (!list(v, at, bad)) return [];
  const names: string[] = [];
  v.forEach((e, i) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      bad(`${at}[${i}]`, 'must be [name, value]');
      return;
    }
    const problem = nameProblem(e[0]) ?? valueProblem(e[1]);
    if (problem !== null) bad(`${at}[${i}]`, `${JSON.stringify(e[0])}: ${problem}`);
    if (sorted && names.length > 0 && !(names[names.length - 1]! < e[0])) bad(`${at}[${i}]`, 'names must be sorted and distinct');
    names.push(e[0]);
  });
  return names;
}

/** Names (and, for responses, `prefix*` wildcards), sorted and distinct, none also set. */
function removals(
  v: unknown,
  at: string,
  nameProblem: (n: string) => string | null,
  wildcards: boolean,
  set: readonly string[],
  bad: Bad,
): void {
  if (!list(v, at, bad)) return;
  v.forEach((e, i) => {
    if (typeof e !== 'string') {
      bad(`${at}[${i}]`, 'must be a header name');
      return;
    }
    const problem = wildcards && e.endsWith('*') ? prefixProblem(e) : nameProblem(e);
    if (problem !== null) bad(`${at}[${i}]`, `${JSON.stringify(e)}: ${problem}`);
    if (i > 0 && !((v[i - 1] as string) < e)) bad(`${at}[${i}]`, 'must be sorted and distinct');
    if (set.includes(e)) bad(`${at}[${i}]`, `${JSON.stringify(e)} is also set (a set header replaces it already)`);
  });
}

export function checkHeaderRules(v: unknown, at: string, bad: Bad): void {
  if (!fields(v, at, ['request', 'response'], bad)) return;
  if (v.request !== undefined && fields(v.request, `${at}.request`, ['set', 'remove'], bad)) {
    const set = v.request.set === undefined ? [] : pairs(v.request.set, `${at}.request.set`, requestNameProblem, true, bad);
    if (v.request.remove !== undefined) removals(v.request.remove, `${at}.request.remove`, requestNameProblem, false, set, bad);
  }
  if (v.response !== undefined && fields(v.response, `${at}.response`, ['remove', 'set', 'add', 'addAlways'], bad)) {
    const r = v.response;
    const set = r.set === undefined ? [] : pairs(r.set, `${at}.response.set`, responseNameProblem, true, bad);
    if (r.remove !== undefined) removals(r.remove, `${at}.response.remove`, responseNameProblem, true, set, bad);
    if (r.add !== undefined) pairs(r.add, `${at}.response.add`, responseNameProblem, false, bad);
    if (r.addAlways !== undefined) pairs(r.addAlways, `${at}.response.addAlways`, responseNameProblem, false, bad);
  }
}
