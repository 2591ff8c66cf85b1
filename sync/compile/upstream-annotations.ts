// ingress-nginx's upstream annotations (internal/ingress/annotations/proxy) → the route's typed filters:
// proxy-connect-timeout, proxy-read-timeout, proxy-send-timeout (whole seconds, parser.GetIntAnnotation),
// proxy-body-size (nginx's size syntax: `8m`, `1g`, `0`), proxy-next-upstream (the conditions ingress-nginx's
// validUpstreamAnnotation allows), proxy-next-upstream-tries and proxy-next-upstream-timeout. proxy-buffering,
// proxy-request-buffering and proxy-http-version are read and validated but change nothing (Portico streams both
// bodies and speaks HTTP/1.1 to upstreams; README, "Ingress semantics").
//
// Routing annotations, not access control: a malformed value is an InvalidAnnotation warning and the default
// applies (ingress-nginx falls back to its ConfigMap default the same way, proxy/main.go).
import type { BackendProtocol, RetryCondition, RetryPolicy, UpstreamTimeoutPolicy, UpstreamTlsPolicy } from '../../gateway/table/schema.ts';
import { MAX_BODY_LIMIT, MAX_TIMEOUT_SECONDS, MAX_TRIES, RETRY_CONDITIONS } from '../../gateway/table/validate-upstream.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { annotationReader } from './annotation-reader.ts';
import type { AnnotationProblem } from './annotations.ts';
import { compareStrings, show, type Fields } from './objects.ts';

const CONNECT = `${NGINX_PREFIX}proxy-connect-timeout`;
const READ = `${NGINX_PREFIX}proxy-read-timeout`;
const SEND = `${NGINX_PREFIX}proxy-send-timeout`;
const BODY_SIZE = `${NGINX_PREFIX}proxy-body-size`;
const NEXT = `${NGINX_PREFIX}proxy-next-upstream`;
const NEXT_TRIES = `${NGINX_PREFIX}proxy-next-upstream-tries`;
const NEXT_TIMEOUT = `${NGINX_PREFIX}proxy-next-upstream-timeout`;

/** Accepted without effect, with the values ingress-nginx's validators allow (parser.ValidateOptions). */
const ACCEPTED: readonly (readonly [string, readonly string[], string])[] = [
  [`${NGINX_PREFIX}proxy-buffering`, ['on', 'off'], 'Portico streams responses (as with "off", the ingress-nginx default)'],
  [`${NGINX_PREFIX}proxy-request-buffering`, ['on', 'off'], 'Portico streams request bodies (as with "off")'],
  [`${NGINX_PREFIX}proxy-http-version`, ['1.0', '1.1'], 'Portico speaks HTTP/1.1 to upstreams'],
];

/** ingress-nginx's defaults (its ConfigMap: proxy-next-upstream "error timeout", tries 3, timeout 0), used for the
 * annotations of the three that are not set once one of them is. */
const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({ on: ['error', 'timeout'] as RetryCondition[], tries: 3, timeoutMs: 0 });

/** nginx's size units (ngx_parse_size/ngx_parse_offset): none = bytes, k = KiB, m = MiB, g = GiB. */
const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

export interface UpstreamFilters {
  timeouts?: UpstreamTimeoutPolicy;
  bodyLimit?: number;
  retry?: RetryPolicy;
  /** backend-protocol (protocol-annotations.ts). */
  backendProtocol?: BackendProtocol;
  /** proxy-ssl-* with a usable Secret (proxy-ssl-secrets.ts). */
  upstreamTls?: UpstreamTlsPolicy;
}

export interface ParsedUpstream {
  filters: UpstreamFilters;
  /** Every annotation read here, valid or not: none is reported as unsupported. */
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

/** A whole number from `min` to `max` in decimal (Go's strconv.Atoi, without signs), or null. */
function whole(raw: unknown, min: number, max: number): number | null {
  if (typeof raw !== 'string' || !/^\s*\d{1,13}\s*$/.test(raw)) return null;
  const n = Number(raw.trim());
  return n >= min && n <= max ? n : null;
}

/** `8m` → 8388608; null when it is not nginx's size syntax or over MAX_BODY_LIMIT. */
export function parseSize(raw: unknown): number | null {
  if (typeof raw !== 'string') return null;
  const m = /^\s*(\d{1,13})([kKmMgG]?)\s*$/.exec(raw);
  if (m === null) return null;
  const n = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return n <= MAX_BODY_LIMIT ? n : null;
}

/** `error timeout http_502` → sorted conditions; `off` anywhere → [] (nginx: off disables the rest); null when a
 * word is not one ingress-nginx allows. */
export function parseConditions(raw: unknown): RetryCondition[] | null {
  if (typeof raw !== 'string') return null;
  const words = raw.trim().split(/\s+/);
  if (words.length === 0 || words[0] === '') return null;
  const out = new Set<RetryCondition>();
  let off = false;
  for (const w of words) {
    if (w === 'off') off = true;
    else if (RETRY_CONDITIONS.has(w as RetryCondition)) out.add(w as RetryCondition);
    else return null;
  }
  return off ? [] : [...out].sort(compareStrings);
}

export function parseUpstreamAnnotations(annotations: Fields): ParsedUpstream {
  const reader = annotationReader(annotations);
  const { consumed, problems } = reader;
  const filters: UpstreamFilters = {};
  const read = <T>(key: string, parse: (raw: unknown) => T | null, expected: string, instead: string): T | undefined =>
    reader.read(key, parse, expected, `${instead} applies`);
  const seconds = (raw: unknown): number | null => whole(raw, 1, MAX_TIMEOUT_SECONDS);
  const secondsText = `a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`;
  const connect = read(CONNECT, seconds, secondsText, "the gateway's --connect-timeout");
  const readS = read(READ, seconds, secondsText, "the gateway's --read-timeout");
  const send = read(SEND, seconds, secondsText, 'no send timeout');
  if (connect !== undefined || readS !== undefined || send !== undefined) {
    filters.timeouts = {
      ...(connect === undefined ? {} : { connectMs: connect * 1000 }),
      ...(readS === undefined ? {} : { readMs: readS * 1000 }),
      ...(send === undefined ? {} : { sendMs: send * 1000 }),
    };
  }
  // `0` is nginx's "no limit", which is also what a route without the annotation has: nothing to carry.
  const body = read(BODY_SIZE, parseSize, 'a size such as 8m, 512k, 1g or 0', 'no body limit');
  if (body !== undefined && body > 0) filters.bodyLimit = body;

  const on = read(
    NEXT,
    parseConditions,
    `conditions among ${[...RETRY_CONDITIONS].join(' ')} or off, separated by spaces`,
    '"error timeout"',
  );
  const tries = read(NEXT_TRIES, (r) => whole(r, 0, MAX_TRIES), `a whole number from 0 to ${MAX_TRIES} (0: no limit)`, '3');
  const timeout = read(
    NEXT_TIMEOUT,
    (r) => whole(r, 0, MAX_TIMEOUT_SECONDS),
    `a whole number of seconds from 0 to ${MAX_TIMEOUT_SECONDS} (0: no limit)`,
    '0 (no limit)',
  );
  if (on !== undefined || tries !== undefined || timeout !== undefined) {
    filters.retry = {
      on: on ?? [...DEFAULT_RETRY.on],
      tries: tries ?? DEFAULT_RETRY.tries,
      timeoutMs: timeout === undefined ? DEFAULT_RETRY.timeoutMs : timeout * 1000,
    };
  }
  for (const [key, values, why] of ACCEPTED) {
    if (!Object.hasOwn(annotations, key)) continue;
    consumed.add(key);
    const raw = annotations[key];
    if (typeof raw !== 'string' || !values.includes(raw.trim().toLowerCase())) {
      problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(key)} has value ${show(raw)}; expected ${values.map((v) => JSON.stringify(v)).join(' or ')}; it has no effect either way: ${why}`,
      });
    }
  }
  return { filters, consumed, problems };
}
