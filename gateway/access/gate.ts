// The access gate: what runs between a routing decision and the upstream for a route with access rules, in
// nginx's phase order (preaccess, then access): each step may answer the request itself (a preflight, a
// limit, a refusal) or let it pass, adding headers for the upstream request and for the client's response.
// Source ranges are not here: they need no I/O and decide() applies them before anything else.
import type { AccessPolicy } from '../table/schema.ts';
import type { AuthCache } from './auth-cache.ts';
import { type AuthClient, authorize } from './external-auth.ts';
import type { RequestVariables } from './variables.ts';

export interface GateRequest extends RequestVariables {
  /** The client's headers, lower-case names, in order. */
  headers: readonly (readonly [string, string])[];
  /** The request id the upstream will see too. */
  requestId: string;
  /** The route (its metrics label): what per-route state (caches, counters) is keyed by. */
  scope: string;
}

/** What a runtime gives the gate. A step whose dependency is missing answers 503 (fail closed). */
export interface GateDeps {
  auth?: { client: AuthClient; cache: AuthCache };
}

/** Headers for the client's response: `always` on every answer (the gate's own included), `onSuccess` only on
 * the statuses nginx's add_header applies to without `always` (2xx and 3xx). */
export interface ResponseAdditions {
  always: [string, string][];
  onSuccess: [string, string][];
}

export type GateOutcome =
  | { kind: 'respond'; status: number; headers: [string, string][] }
  | { kind: 'pass'; upstreamHeaders: [string, string | null][]; response: ResponseAdditions };

/** What the steps so far have added. */
interface Passing {
  upstreamHeaders: [string, string | null][];
  response: ResponseAdditions;
}

/** One step: null lets the request go on (after adding to `passing`), an outcome answers it. */
type Step = (p: AccessPolicy, r: GateRequest, deps: GateDeps, passing: Passing) => Promise<GateOutcome | null> | GateOutcome | null;

const externalAuth: Step = async (p, r, deps, passing) => {
  if (p.externalAuth === undefined) return null;
  if (deps.auth === undefined) return { kind: 'respond', status: 503, headers: [] };
  const v = await authorize(p.externalAuth, r, deps.auth.client, deps.auth.cache);
  if (v.kind === 'respond') return v;
  passing.upstreamHeaders.push(...v.upstreamHeaders);
  for (const c of v.cookies)
    (p.externalAuth.alwaysSetCookie === true ? passing.response.always : passing.response.onSuccess).push(['set-cookie', c]);
  return null;
};

/** The steps in nginx's order. */
const STEPS: readonly Step[] = [externalAuth];

/** Whether a route's access policy needs the gate at all (source ranges alone do not). */
export function needsGate(p: AccessPolicy): boolean {
  return p.externalAuth !== undefined;
}

export async function runGate(p: AccessPolicy, r: GateRequest, deps: GateDeps): Promise<GateOutcome> {
  const passing: Passing = { upstreamHeaders: [], response: { always: [], onSuccess: [] } };
  for (const step of STEPS) {
    const outcome = await step(p, r, deps, passing);
    // The gate's own answer carries what every answer gets (for example CORS headers on a 401).
    if (outcome !== null)
      return outcome.kind === 'respond' ? { ...outcome, headers: [...outcome.headers, ...passing.response.always] } : outcome;
  }
  return { kind: 'pass', ...passing };
}
