// canary, canary-by-header, canary-by-header-value, canary-by-header-pattern, canary-by-cookie, canary-weight,
// canary-weight-total: read as ingress-nginx reads them (internal/ingress/annotations/canary). A malformed value is
// a Warning naming what applies instead; none of them guards access, so nothing fails closed here.
import { HEADER_NAME } from '../../gateway/table/header-names.ts';
import { headerPatternProblem } from '../../gateway/table/header-pattern.ts';
import { CANARY_HEADER_VALUE, COOKIE_NAME, MAX_WEIGHT_TOTAL } from '../../gateway/table/validate-canary.ts';
import type { CanaryPolicy } from '../../gateway/table/schema.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { goBool } from './annotation-values.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

/** A canary policy before its backend is known (the backend is the canary Ingress's path's). */
export type CanaryRequest = Omit<CanaryPolicy, 'backend'>;

export interface ParsedCanary {
  /** Set when `canary: "true"`: the Ingress is a canary, its paths join other Ingresses' routes. */
  canary?: CanaryRequest;
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

const KEY = {
  canary: `${NGINX_PREFIX}canary`,
  header: `${NGINX_PREFIX}canary-by-header`,
  headerValue: `${NGINX_PREFIX}canary-by-header-value`,
  headerPattern: `${NGINX_PREFIX}canary-by-header-pattern`,
  cookie: `${NGINX_PREFIX}canary-by-cookie`,
  weight: `${NGINX_PREFIX}canary-weight`,
  weightTotal: `${NGINX_PREFIX}canary-weight-total`,
} as const;

export const CANARY_KEYS: readonly string[] = Object.values(KEY);

/** Go's strconv.Atoi (parser.GetIntAnnotation): an optional sign and decimal digits, within 64 bits. */
function goInt(raw: string): number | undefined {
  if (!/^[+-]?\d{1,18}$/.test(raw)) return undefined;
  return Number(raw);
}

export function parseCanaryAnnotations(annotations: Fields): ParsedCanary {
  const problems: AnnotationProblem[] = [];
  const consumed = new Set<string>();
  const text = (k: string): string | undefined => {
    if (!Object.hasOwn(annotations, k)) return undefined;
    consumed.add(k);
    const v = annotations[k];
    return typeof v === 'string' ? v : show(v);
  };
  const warn = (k: string, raw: string, why: string, instead: string): void =>
    void problems.push({
      code: 'InvalidAnnotation',
      message: `annotation ${JSON.stringify(k)} has value ${JSON.stringify(raw)}: ${why}, so ${instead}`,
    });

  const rawCanary = text(KEY.canary);
  let enabled = false;
  if (rawCanary !== undefined) {
    const b = goBool(rawCanary);
    if (b === undefined) warn(KEY.canary, rawCanary, 'expected "true" or "false"', 'the Ingress is not a canary');
    enabled = b === true;
  }

  let header: string | undefined;
  const rawHeader = text(KEY.header);
  if (rawHeader !== undefined && rawHeader !== '') {
    if (HEADER_NAME.test(rawHeader.toLowerCase())) header = rawHeader.toLowerCase();
    else warn(KEY.header, rawHeader, 'not a header name (an RFC 9110 token of at most 64 characters)', 'no header picks the canary');
  }
  let headerValue: string | undefined;
  const rawValue = text(KEY.headerValue);
  if (rawValue !== undefined && rawValue !== '') {
    if (!CANARY_HEADER_VALUE.test(rawValue)) warn(KEY.headerValue, rawValue, 'not 1 to 1024 visible ASCII characters', 'it is ignored');
    else if (header === undefined) warn(KEY.headerValue, rawValue, 'it needs canary-by-header', 'it is ignored');
    else headerValue = rawValue;
  }
  let headerPattern: string | undefined;
  const rawPattern = text(KEY.headerPattern);
  if (rawPattern !== undefined && rawPattern !== '') {
    const problem = CANARY_HEADER_VALUE.test(rawPattern) ? headerPatternProblem(rawPattern) : 'not 1 to 1024 visible ASCII characters';
    if (header === undefined) warn(KEY.headerPattern, rawPattern, 'it needs canary-by-header', 'it is ignored');
    else if (headerValue !== undefined)
      warn(KEY.headerPattern, rawPattern, 'canary-by-header-value is also set and wins (as in ingress-nginx)', 'the pattern is ignored');
    else if (problem !== null) {
      // Refused rather than run on a backtracking engine: the header rule is dropped, so the header never picks
      // the canary (as if the pattern never matched) and the cookie and weight rules still apply.
      warn(
        KEY.headerPattern,
        rawPattern,
        `outside the regular-expression subset Portico runs in linear time (${problem})`,
        `the header ${JSON.stringify(header)} never picks the canary`,
      );
      header = undefined;
    } else headerPattern = rawPattern;
  }
  let cookie: string | undefined;
  const rawCookie = text(KEY.cookie);
  if (rawCookie !== undefined && rawCookie !== '') {
    if (COOKIE_NAME.test(rawCookie.toLowerCase())) cookie = rawCookie.toLowerCase();
    else warn(KEY.cookie, rawCookie, 'not a cookie name (an RFC 6265 token of at most 64 characters)', 'no cookie picks the canary');
  }
  let weightTotal = 100;
  const rawTotal = text(KEY.weightTotal);
  if (rawTotal !== undefined) {
    const n = goInt(rawTotal);
    if (n === undefined || n > MAX_WEIGHT_TOTAL)
      warn(KEY.weightTotal, rawTotal, `expected a whole number up to ${MAX_WEIGHT_TOTAL}`, 'the default 100 applies');
    else if (n < 100) warn(KEY.weightTotal, rawTotal, "ingress-nginx's balancer uses 100 for a total under 100", 'the total is 100');
    else weightTotal = n;
  }
  let weight = 0;
  const rawWeight = text(KEY.weight);
  if (rawWeight !== undefined) {
    const n = goInt(rawWeight);
    if (n === undefined)
      warn(KEY.weight, rawWeight, 'expected a whole number', 'the default 0 applies (no request goes to the canary by weight)');
    // Out of range behaves as the nearest bound in balance.lua (math.random(total) <= weight), so it is clamped.
    else weight = Math.min(Math.max(n, 0), weightTotal);
  }
  if (!enabled) {
    // ingress-nginx: "configured but not enabled"; the Ingress stays a normal one.
    const set = [KEY.header, KEY.headerValue, KEY.headerPattern, KEY.cookie, KEY.weight, KEY.weightTotal].filter((k) => consumed.has(k));
    if (set.length > 0)
      problems.push({
        code: 'InvalidAnnotation',
        message: `annotations ${set.map((k) => JSON.stringify(k)).join(', ')} are set without ${JSON.stringify(KEY.canary)}: "true"; they are ignored and the Ingress routes as a normal Ingress`,
      });
    return { consumed, problems };
  }
  const canary: CanaryRequest = {
    ...(header === undefined ? {} : { header }),
    ...(headerValue === undefined ? {} : { headerValue }),
    ...(headerPattern === undefined ? {} : { headerPattern }),
    ...(cookie === undefined ? {} : { cookie }),
    weight,
    weightTotal,
  };
  return { canary, consumed, problems };
}
