// validate() for regular-expression paths (schema 5): Regex routes and the bounds that keep a host's compiled set small (regex-paths.ts).
import { isRecord } from './names.ts';
import { MAX_REGEX_ROUTES_PER_HOST, regexProblem } from './regex-paths.ts';

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
