// validate() for a route's request and connection limits (AccessPolicy.limits): whole numbers in the ranges the
// compiler produces, and CIDRs that parse, so a worker never guesses at a limit.
import { checkCidrList } from './cidr.ts';
import { isRecord } from './names.ts';
import { checkRefusalStatus } from './refusal-status.ts';

/** Largest limit-rps, limit-rpm and limit-connections the compiler accepts. */
export const MAX_LIMIT = 1_000_000;
/** Largest limit-burst-multiplier the compiler accepts. */
export const MAX_BURST_MULTIPLIER = 1_000;

const whole = (v: unknown, min: number, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

function rateLimit(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (v === undefined) return;
  if (!isRecord(v)) return bad(at, 'must be { rate, burst }');
  if (!whole(v.rate, 1, MAX_LIMIT)) bad(`${at}.rate`, `must be a whole number from 1 to ${MAX_LIMIT}`);
  if (!whole(v.burst, 0, MAX_LIMIT * MAX_BURST_MULTIPLIER))
    bad(`${at}.burst`, `must be a whole number from 0 to ${MAX_LIMIT * MAX_BURST_MULTIPLIER}`);
}

export function checkLimits(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  rateLimit(v.rps, `${at}.rps`, bad);
  rateLimit(v.rpm, `${at}.rpm`, bad);
  if (v.connections !== undefined && !whole(v.connections, 1, MAX_LIMIT))
    bad(`${at}.connections`, `must be a whole number from 1 to ${MAX_LIMIT}`);
  if (v.rps === undefined && v.rpm === undefined && v.connections === undefined) bad(at, 'names no limit');
  checkCidrList(v.exempt, `${at}.exempt`, bad);
  checkRefusalStatus(v.status, `${at}.status`, bad);
  checkRefusalStatus(v.connectionStatus, `${at}.connectionStatus`, bad);
}
