// Merges Ingress plans, oldest first, into host entries: routes with conflicts settled (oldest wins),
// per-host fallback backends, and the table's default backend (README, "Ingress semantics").
import { MAX_REGEX_ROUTES_PER_HOST, regexProblem } from '../../gateway/table/regex-paths.ts';
import type { Report } from './diagnostics.ts';
import type { BackendRef, IngressPlan, PathPlan } from './ingress.ts';
import { precedenceReason, refId } from './objects.ts';
import type { LoadedCertificate } from './tls.ts';

export interface Claim {
  path: PathPlan;
  owner: IngressPlan;
  /** The canary Ingress path that splits this route (canary annotations), if any. */
  canary?: { path: PathPlan; owner: IngressPlan };
}

export interface TlsCandidate {
  owner: IngressPlan;
  /** null when there is no secretName, or the Secret is unusable or does not cover the host. */
  cert: LoadedCertificate | null;
}

export interface HostBuild {
  host: string;
  /** `${pathType} ${path}` → the route that won it; on a regex host `Regex ${written}`. */
  routes: Map<string, Claim>;
  /** Every route is a Regex route: an Ingress of the host uses use-regex or rewrite-target. */
  regex: boolean;
  fallback: BackendRef | null;
  /** The Ingress whose spec.defaultBackend is the fallback. */
  fallbackOwner: IngressPlan | null;
  /** One per Ingress with TLS for this host, oldest first. */
  tls: TlsCandidate[];
}

export type ReportFor = (plan: IngressPlan) => Report;

function describe(p: PathPlan): string {
  return `${p.where} (${p.host === '' ? 'no host' : `host ${JSON.stringify(p.host)}`}, ${p.pathType} ${JSON.stringify(p.written)})`;
}

/** ingress-nginx's enforceRegex: a server one of whose locations has use-regex or a rewrite-target writes every
 * location as `~* "^<path>"` (its template's buildLocation). The hosts where such a path wins its place: a path
 * that loses to an older Ingress's (same path and type) is no location in ingress-nginx, so it changes nothing. */
function regexHosts(plans: readonly IngressPlan[]): Set<string> {
  const out = new Set<string>();
  const claimed = new Set<string>();
  for (const plan of plans) {
    for (const p of plan.paths) {
      const key = `${p.host} ${p.pathType} ${p.path}`;
      if (claimed.has(key)) continue;
      claimed.add(key);
      if (plan.regex) out.add(p.host);
    }
  }
  return out;
}

/** On a regex host: the path as a Regex route's pattern, or false (reported, and the path dropped) when it cannot
 * be one. Paths of Ingresses without use-regex are taken verbatim, as ingress-nginx does. */
function regexClaim(path: PathPlan, plan: IngressPlan, h: HostBuild, report: Report, told: Set<string>): boolean {
  const where = `${describe(path)} is on a host where another Ingress uses use-regex or rewrite-target, so every path of the host is a case-insensitive regular expression`;
  const problem = regexProblem(path.written);
  const drop = (why: string): false => {
    report('InvalidPath', `${plan.regex ? describe(path) : where}: ${why}; the path is skipped`);
    if (!plan.droppedOn.includes(path.host)) plan.droppedOn.push(path.host);
    return false;
  };
  if (problem !== null) return drop(`as a regular expression it ${problem}`);
  if (h.routes.size >= MAX_REGEX_ROUTES_PER_HOST)
    return drop(`the host already has ${MAX_REGEX_ROUTES_PER_HOST} regex paths, the most a host may have`);
  if (!plan.regex && !told.has(path.host)) {
    told.add(path.host);
    report(
      'RegexHost',
      `the paths of ${path.host === '' ? 'the rules without a host' : `host ${JSON.stringify(path.host)}`} are matched as case-insensitive regular expressions "^<path>", tried longest first, because another Ingress of the host uses use-regex or rewrite-target (as ingress-nginx does): an Exact path matches as a prefix, and "." matches any character`,
    );
  }
  return true;
}

/** Host entries from plans sorted oldest first. */
export function mergeRoutes(plans: readonly IngressPlan[], reportFor: ReportFor): Map<string, HostBuild> {
  const hosts = new Map<string, HostBuild>();
  const regex = regexHosts(plans);
  for (const plan of plans) {
    for (const host of plan.hosts) {
      let h = hosts.get(host);
      if (h === undefined)
        hosts.set(host, (h = { host, routes: new Map(), regex: regex.has(host), fallback: null, fallbackOwner: null, tls: [] }));
      if (h.fallback === null && plan.defaultBackend !== null) {
        h.fallback = plan.defaultBackend;
        h.fallbackOwner = plan;
      }
    }
    const report = reportFor(plan);
    const told = new Set<string>();
    for (const path of plan.paths) {
      const h = hosts.get(path.host);
      if (h === undefined) continue; // cannot happen: every path's host is in plan.hosts
      if (h.regex && !regexClaim(path, plan, h, report, told)) continue;
      const key = h.regex ? `Regex ${path.written}` : `${path.pathType} ${path.path}`;
      const won = h.routes.get(key);
      if (won === undefined) {
        h.routes.set(key, { path, owner: plan });
      } else if (won.owner === plan) {
        report('DuplicateRule', `${describe(path)} repeats ${won.path.where}; the first one is used`);
      } else {
        report(
          'RouteConflict',
          `${describe(path)} is ignored: Ingress ${refId(won.owner.ref)} already routes it (${won.path.where}) and takes precedence because ${precedenceReason(won.owner.info, plan.info)}`,
        );
      }
    }
  }
  return hosts;
}

/** The table's default backend: the oldest Ingress's spec.defaultBackend. The others are told where
 * theirs is still used (as the fallback of their own hosts). */
export function pickDefaultBackend(
  plans: readonly IngressPlan[],
  hosts: ReadonlyMap<string, HostBuild>,
  reportFor: ReportFor,
): { ref: BackendRef; owner: IngressPlan } | null {
  const withDefault = plans.filter((p) => p.defaultBackend !== null);
  const winner = withDefault[0];
  if (winner === undefined || winner.defaultBackend === null) return null;
  for (const plan of withDefault.slice(1)) {
    const mine = plan.defaultBackend;
    if (mine === null || mine.id === winner.defaultBackend.id) continue;
    const fallbackFor = plan.hosts
      .filter((h) => hosts.get(h)?.fallback?.id === mine.id)
      .map((h) => (h === '' ? '(no host)' : JSON.stringify(h)));
    const still = fallbackFor.length > 0 ? `it is still the fallback for unmatched paths of ${fallbackFor.join(', ')}` : 'it is not used';
    reportFor(plan)(
      'DefaultBackendConflict',
      `spec.defaultBackend ${mine.id} is not the default for requests that match no host: Ingress ${refId(winner.ref)} provides ${winner.defaultBackend.id} and takes precedence because ${precedenceReason(winner.info, plan.info)}; ${still}`,
    );
  }
  return { ref: winner.defaultBackend, owner: winner };
}

/** Canary Ingresses, oldest first, join the routes other Ingresses won (ingress-nginx's mergeAlternativeBackends):
 * each path of a canary becomes the alternative backend of the route with the same host, pathType and path. A
 * canary never creates a host or a route of its own ("should not use canary with domain as a server"), and a
 * route takes one canary, the oldest (balancer.lua only reads alternative_backends[1]). */
export function mergeCanaries(canaries: readonly IngressPlan[], hosts: ReadonlyMap<string, HostBuild>, reportFor: ReportFor): void {
  for (const plan of canaries) {
    const report = reportFor(plan);
    if (plan.defaultBackend !== null)
      report(
        'CanaryWithoutMain',
        `spec.defaultBackend ${plan.defaultBackend.id} of a canary Ingress is not used: Portico splits routes only, never a default backend`,
      );
    for (const path of plan.paths) {
      const won = hosts.get(path.host)?.routes.get(`${path.pathType} ${path.path}`);
      if (won === undefined) {
        report(
          'CanaryWithoutMain',
          `${describe(path)} is ignored: no other Ingress routes this host and path, and a canary only splits another Ingress's route (ingress-nginx answers 404 for it too)`,
        );
      } else if (won.canary?.owner === plan) {
        report('DuplicateRule', `${describe(path)} repeats ${won.canary.path.where}; the first one is used`);
      } else if (won.canary !== undefined) {
        report(
          'CanaryConflict',
          `${describe(path)} is ignored: Ingress ${refId(won.canary.owner.ref)} is already the canary of this route (Ingress ${refId(won.owner.ref)}) and takes precedence because ${precedenceReason(won.canary.owner.info, plan.info)}; a route has one canary`,
        );
      } else if (won.path.backend.id === path.backend.id) {
        report(
          'CanaryConflict',
          `${describe(path)} is ignored: its backend ${path.backend.id} is already the main backend of Ingress ${refId(won.owner.ref)} for this route, so there is nothing to split`,
        );
      } else {
        won.canary = { path, owner: plan };
      }
    }
  }
}
