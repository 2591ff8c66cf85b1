// ingress-nginx's global rate limit (internal/ingress/annotations/globalratelimit/main.go): global-rate-limit,
// global-rate-limit-window (a Go duration, truncated to whole seconds), global-rate-limit-key (default
// `$remote_addr`) and global-rate-limit-ignored-cidrs → the route's typed global rate limit policy.
//
// Stricter than ingress-nginx, towards refusing: it writes no limit at all for a limit that is not a number or
// is 0, for a limit without a window, and for a window under one second (window_size 0, which
// global_throttle.lua reads as "disabled"); each of those fails closed here, as does a key naming a variable
// Portico does not have and an ignored-cidrs entry that does not parse.
import type { GlobalRateLimitPolicy } from '../../gateway/table/schema.ts';
import { globalKeyProblem, MAX_GLOBAL_LIMIT, MAX_GLOBAL_WINDOW_SECONDS } from '../../gateway/table/validate-global-rate-limit.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { LimitParsing } from './limit-annotations.ts';
import type { Fields } from './objects.ts';

const LIMIT = `${NGINX_PREFIX}global-rate-limit`;
const WINDOW = `${NGINX_PREFIX}global-rate-limit-window`;
const KEY = `${NGINX_PREFIX}global-rate-limit-key`;
const IGNORED = `${NGINX_PREFIX}global-rate-limit-ignored-cidrs`;
/** main.go's defaultKey. */
const DEFAULT_KEY = '$remote_addr';

/** Go's time.ParseDuration units, in seconds. */
const UNIT_SECONDS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
const DURATION = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** A Go duration (`1m`, `90s`, `1h30m`, `1.5m`) in seconds as ingress-nginx keeps it (`int(d.Seconds())`,
 * truncated), or null when time.ParseDuration would refuse it. `0` alone needs no unit, as in Go. */
export function goDurationSeconds(text: string): number | null {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  if (!DURATION.test(text)) return null;
  let seconds = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  // Integer nanoseconds first, as Go holds a Duration, so `1.9999999999s` stays under 2.
  const nanos = Math.round(seconds * 1e9);
  return Math.trunc((text.startsWith('-') ? -nanos : nanos) / 1e9);
}

/** The global rate limit of an Ingress's annotations, and the annotations it came from; null when it asks for
 * none (or it does not parse, which fails closed through `p.fail`). */
export function parseGlobalRateLimit(annotations: Fields, p: LimitParsing): { policy: GlobalRateLimitPolicy; keys: string[] } | null {
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const companions = [WINDOW, KEY, IGNORED].filter(has);
  for (const k of companions) p.consume(k);
  if (!has(LIMIT)) {
    // main.go reads nothing without a limit: neither do we.
    for (const k of companions) p.note(k, 'has no effect without global-rate-limit (as in ingress-nginx)');
    return null;
  }
  p.consume(LIMIT);
  let broken = false;
  const fail = (key: string, why: string): void => {
    broken = true;
    p.fail(key, why);
  };
  const rawLimit = annotations[LIMIT];
  const limit = typeof rawLimit === 'string' && /^\s*\d{1,10}\s*$/.test(rawLimit) ? Number(rawLimit.trim()) : null;
  if (limit === null || limit < 1 || limit > MAX_GLOBAL_LIMIT) fail(LIMIT, `it is not a whole number from 1 to ${MAX_GLOBAL_LIMIT}`);

  let windowSeconds: number | null = null;
  if (!has(WINDOW)) fail(LIMIT, 'it needs global-rate-limit-window (ingress-nginx then applies no limit at all)');
  else {
    const raw = annotations[WINDOW];
    const s = typeof raw === 'string' ? goDurationSeconds(raw.trim()) : null;
    if (s === null) fail(WINDOW, 'it is not a Go duration (for example "1m", "30s" or "1h30m")');
    else if (s < 1 || s > MAX_GLOBAL_WINDOW_SECONDS)
      fail(WINDOW, `it is not from 1s to ${MAX_GLOBAL_WINDOW_SECONDS / 3600}h (whole seconds count, as in ingress-nginx)`);
    else windowSeconds = s;
  }

  let key = DEFAULT_KEY;
  if (has(KEY)) {
    const raw = annotations[KEY];
    const text = typeof raw === 'string' ? raw.trim() : null;
    if (text === null) fail(KEY, 'it is not text');
    else if (text !== '') {
      const why = globalKeyProblem(text);
      if (why === null) key = text;
      else fail(KEY, why);
    }
  }

  let ignored: string[] | undefined;
  if (has(IGNORED)) {
    const r = p.ranges(annotations[IGNORED]);
    if ('error' in r) fail(IGNORED, r.error);
    else ignored = r.ranges;
  }
  if (broken || limit === null || windowSeconds === null) return null;
  const policy: GlobalRateLimitPolicy = { limit, windowSeconds, key };
  if (ignored !== undefined) policy.ignored = ignored;
  return { policy, keys: [LIMIT, ...companions] };
}
