// validate() for regular-expression paths and rewrites (schema 5): Regex routes, `policies.rewrite`, and the
// bounds that keep a host's compiled set small (regex-paths.ts).
import { isRecord } from './names.ts';
import { MAX_REGEX_ROUTES_PER_HOST, regexProblem } from './regex-paths.ts';
import { rewriteProblem } from './rewrite.ts';

type Bad = (at: string, message: string) => void;

/** A Regex route's pattern. */
export function checkRegexPath(path: string, at: string, bad: Bad): void {
  const p = regexProblem(path);
  if (p !== null) bad(at, `regex path ${JSON.stringify(path)} ${p}`);
}

/** A host's routes are all Regex or none (ingress-nginx turns every location of the server into a regex), and
 * there are at most MAX_REGEX_ROUTES_PER_HOST. */
export function checkRegexHost(routes: readonly unknown[], at: string, bad: Bad): void {
  const regex = routes.filter((r) => isRecord(r) && r.pathType === 'Regex').length;
  if (regex === 0) return;
  if (regex !== routes.length) bad(at, 'a host with Regex routes must have only Regex routes');
  if (regex > MAX_REGEX_ROUTES_PER_HOST) bad(at, `${regex} Regex routes, more than ${MAX_REGEX_ROUTES_PER_HOST}`);
}

/** `policies.rewrite` (rewrite-target): `{ path }` and nothing else. */
export function checkRewrite(v: unknown, at: string, bad: Bad): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  for (const k of Object.keys(v)) if (k !== 'path') bad(`${at}.${k}`, 'unknown field');
  if (typeof v.path !== 'string') return bad(`${at}.path`, 'must be a string');
  const p = rewriteProblem(v.path);
  if (p !== null) bad(`${at}.path`, `rewrite ${JSON.stringify(v.path)} ${p}`);
}
