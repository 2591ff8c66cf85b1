// validate() for a route's global rate limit (AccessPolicy.globalRateLimit): the bounds the compiler produces, a
// key naming only variables a worker can expand, CIDRs that parse. A worker never guesses at a limit.
import { checkCidrList } from './cidr.ts';
import { isRecord } from './names.ts';
import { checkRefusalStatus } from './refusal-status.ts';
import { parseTemplate } from './variables.ts';

/** Largest global-rate-limit the compiler accepts. */
export const MAX_GLOBAL_LIMIT = 1_000_000;
/** Longest window, in seconds (a day): counters live twice as long in Redis, and a longer window is a quota,
 * not a rate limit. */
export const MAX_GLOBAL_WINDOW_SECONDS = 86_400;
/** Longest key template, in characters. */
export const MAX_GLOBAL_KEY = 256;

/** The fields a worker knows: one it does not know is a rule it would not apply. */
const KNOWN: ReadonlySet<string> = new Set(['limit', 'windowSeconds', 'key', 'ignored', 'status']);

const whole = (v: unknown, min: number, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** Why a key template cannot be used, or null. */
export function globalKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > MAX_GLOBAL_KEY) return `it must have 1 to ${MAX_GLOBAL_KEY} characters`;
  const { unknown } = parseTemplate(key);
  return unknown.length === 0 ? null : `it uses ${unknown.map((u) => `$${u}`).join(', ')}, which Portico does not have`;
}

export function checkGlobalRateLimit(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) bad(at, `unknown field ${JSON.stringify(k)}`);
  if (!whole(v.limit, 1, MAX_GLOBAL_LIMIT)) bad(`${at}.limit`, `must be a whole number from 1 to ${MAX_GLOBAL_LIMIT}`);
  if (!whole(v.windowSeconds, 1, MAX_GLOBAL_WINDOW_SECONDS))
    bad(`${at}.windowSeconds`, `must be a whole number from 1 to ${MAX_GLOBAL_WINDOW_SECONDS}`);
  const keyProblem = typeof v.key === 'string' ? globalKeyProblem(v.key) : 'it is not text';
  if (keyProblem !== null) bad(`${at}.key`, keyProblem);
  checkCidrList(v.ignored, `${at}.ignored`, bad);
  checkRefusalStatus(v.status, `${at}.status`, bad);
}
