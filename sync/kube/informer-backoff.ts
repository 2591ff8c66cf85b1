// How long a stopped informer waits before it lists and watches again. The count of failures resets whenever the
// informer works again (a list goes through, an event arrives), so one outage never slows the recovery from the
// next; before, it reset only after a minute without errors, and a 10 s apiserver restart left the informers
// waiting 8 s after the apiserver was back.
//
// Two caps, by what failed. An apiserver that cannot be reached (connection refused or reset, a timeout, a 5xx
// while it starts) costs nothing to ask again and the agent's view is stale until it answers, so the wait stays
// at most UNREACHABLE_CAP_MS: the first change after it comes back is seen within about that. An apiserver that
// answers with a refusal (403 after an RBAC change, 404 for a missing kind, 429) is backed off up to
// REFUSED_CAP_MS, like client-go's reflector (wait.Backoff, initial 800 ms, capped at 30 s), so a
// misconfiguration does not become a request storm.
export const FIRST_MS = 100;
export const UNREACHABLE_CAP_MS = 500;
export const REFUSED_CAP_MS = 30_000;

const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|other side closed|terminated|aborted|timed out|premature close/i;

/** Whether `err` says the apiserver could not be reached or is not serving yet (rather than refusing). */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; cause?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  for (const status of [e.code, e.statusCode]) if (typeof status === 'number' && status >= 500) return true;
  if (typeof e.code === 'string' && UNREACHABLE.test(e.code)) return true;
  if (typeof e.message === 'string' && UNREACHABLE.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isUnreachable(e.cause);
}

/** The wait after the `failures`-th failure in a row (1, 2, ...): doubling from FIRST_MS up to its cap. */
export function informerBackoffMs(failures: number, err: unknown): number {
  const cap = isUnreachable(err) ? UNREACHABLE_CAP_MS : REFUSED_CAP_MS;
  return Math.min(FIRST_MS * 2 ** Math.min(Math.max(failures - 1, 0), 16), cap);
}

/** One log line for the first failures and then at each power of two, so an outage of minutes is a few lines. */
export const shouldLogFailure = (failures: number): boolean => failures <= 2 || (failures & (failures - 1)) === 0;

/** One informer's failures in a row, counted per kind of failure: refusals right after an outage (an apiserver
 * that has just restarted answers 403 until its RBAC caches are filled) start backing off from FIRST_MS, not
 * from where the connection failures of the outage left off (which would be a wait of half a minute). */
export class InformerBackoff {
  /** Failures in a row of the current kind. */
  failures = 0;
  private unreachable = false;

  /** The wait after this failure. */
  next(err: unknown): number {
    const unreachable = isUnreachable(err);
    if (unreachable !== this.unreachable) this.failures = 0;
    this.unreachable = unreachable;
    this.failures++;
    return informerBackoffMs(this.failures, err);
  }

  /** The informer works (a list went through, an event arrived). */
  reset(): void {
    this.failures = 0;
  }
}
