// validate() for a route's upstream filters (RoutePolicies.timeouts, bodyLimit, retry): whole numbers in the
// ranges the compiler produces and nothing else inside the objects, so a worker never guesses at a timeout or
// retries on a condition it does not know.
import { isRecord, isWhole, onlyKeys } from './names.ts';
import type { BackendProtocol, RetryCondition } from './schema.ts';

/** Longest timeout an annotation may set: one day, in seconds (ingress-nginx writes any integer; nginx accepts it). */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** Largest proxy-body-size: 1 TiB in bytes (nginx's offsets are 64-bit; this is beyond any real upload). */
export const MAX_BODY_LIMIT = 2 ** 40;
/** Largest proxy-next-upstream-tries. */
export const MAX_TRIES = 1_000;

/** nginx's proxy_next_upstream conditions, as ingress-nginx's validUpstreamAnnotation lists them (`off` is the
 * empty list). */
export const RETRY_CONDITIONS: ReadonlySet<RetryCondition> = new Set<RetryCondition>([
  'error',
  'timeout',
  'invalid_header',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
  'http_403',
  'http_404',
  'http_429',
  'non_idempotent',
]);

type Bad = (at: string, message: string) => void;

export function checkTimeouts(v: unknown, at: string, bad: Bad): void {
  if (!isRecord(v)) return bad(at, 'must be { connectMs?, readMs?, sendMs? }');
  onlyKeys(v, ['connectMs', 'readMs', 'sendMs'], at, bad);
  for (const k of ['connectMs', 'readMs', 'sendMs'] as const) {
    if (v[k] !== undefined && !isWhole(v[k], 1, MAX_TIMEOUT_SECONDS * 1000))
      bad(`${at}.${k}`, `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_SECONDS * 1000}`);
  }
  if (v.connectMs === undefined && v.readMs === undefined && v.sendMs === undefined) bad(at, 'names no timeout');
}

export function checkBodyLimit(v: unknown, at: string, bad: Bad): void {
  if (!isWhole(v, 0, MAX_BODY_LIMIT)) bad(at, `must be a whole number of bytes from 0 to ${MAX_BODY_LIMIT}`);
}

export function checkRetry(v: unknown, at: string, bad: Bad): void {
  if (!isRecord(v)) return bad(at, 'must be { on, tries, timeoutMs }');
  onlyKeys(v, ['on', 'tries', 'timeoutMs'], at, bad);
  if (!Array.isArray(v.on)) bad(`${at}.on`, 'must be a list of proxy_next_upstream conditions');
  else {
    v.on.forEach((c, i) => {
      if (!RETRY_CONDITIONS.has(c as RetryCondition)) bad(`${at}.on[${i}]`, `unknown condition ${JSON.stringify(c)}`);
      else if (i > 0 && !((v.on as string[])[i - 1]! < (c as string))) bad(`${at}.on`, 'must be sorted, without repeats');
    });
  }
  if (!isWhole(v.tries, 0, MAX_TRIES)) bad(`${at}.tries`, `must be a whole number from 0 to ${MAX_TRIES}`);
  if (!isWhole(v.timeoutMs, 0, MAX_TIMEOUT_SECONDS * 1000))
    bad(`${at}.timeoutMs`, `must be a whole number of milliseconds from 0 to ${MAX_TIMEOUT_SECONDS * 1000}`);
}

/** The protocols a route may name (schema.ts BackendProtocol); `HTTP` is the absence of the field. */
export const BACKEND_PROTOCOLS: ReadonlySet<BackendProtocol> = new Set<BackendProtocol>(['HTTPS', 'GRPC', 'GRPCS', 'H2C']);

export function checkBackendProtocol(v: unknown, at: string, bad: Bad): void {
  if (!BACKEND_PROTOCOLS.has(v as BackendProtocol)) bad(at, `must be one of ${[...BACKEND_PROTOCOLS].join(', ')}`);
}
