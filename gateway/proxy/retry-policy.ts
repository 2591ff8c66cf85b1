// What happens after an upstream attempt failed: the next endpoint of the backend, the next peer cluster, the
// gateway's own 502/504, or a cut-off response. One pure function, asked by every place that dials an upstream
// (the Node forwarder and its upgrades, the Web forwarder of Deno and workerd, the node-local tunnel's relay and
// the peer gateway), so a failure gets the same answer and the same metrics label whichever runtime saw it.
//
// The rule is nginx's default (`proxy_next_upstream error timeout;` without `non_idempotent`), narrowed where
// Portico cannot tell what the upstream saw:
//   - A request is moved only while nothing was sent to the client yet (nginx: "passing a request to the next
//     server is only possible if nothing has been sent to a client yet").
//   - A request the upstream may have received is moved only if its method is idempotent (RFC 9110 §9.2.2: PUT,
//     DELETE and the safe methods GET, HEAD, OPTIONS, TRACE; repeating one has the effect of sending it once).
//     nginx calls POST, LOCK and PATCH non-idempotent and never passes them on once sent; Portico goes by the
//     RFC's list instead, so a method it knows nothing about (PROPFIND, a custom verb) is not repeated either.
//   - A request body is streamed, never buffered: once part of it left the gateway (to the upstream, or to the
//     tunnel, which receives the body before it dials), it cannot be sent again, whatever the method. That is
//     nginx's rule with `proxy_request_buffering off`.
//   - Whether the upstream may have received the request is read off the error class, because that is all the
//     runtimes report: a CONNECT failure (refused, unreachable, connect timeout, or a refusal by the node-local
//     tunnel or a peer cluster's gateway, which dial nothing when they refuse) happened before any byte could
//     reach an application; a RESET (the connection broke before a response) may have happened after the whole
//     request was written. workerd words a refused connect as a lost connection, so there it arrives as a RESET
//     and is moved only for idempotent methods.
//   - A response timeout is never retried (unlike nginx's `timeout`): the upstream has the request and may still
//     be working on it, and every further endpoint would add a whole read timeout to the client's wait.
//   - A PROTOCOL failure (an answer that is not HTTP, a TLS failure to a peer, an error code nothing here
//     knows) is never retried: the upstream may have acted on the request (nginx's `invalid_header` is not in
//     its default either).
//   - Endpoints of the backend first, then (Node, through the tunnel) the next peer cluster that serves the
//     route: a peer is one more upstream server to nginx's way of thinking, so it is moved to on the same
//     errors. A request to a peer counts as one endpoint: the peer's gateway picks and fails over itself.
//
//   response byte received | class    | body streamed | idempotent | endpoint left | peer left | decision
//   -----------------------+----------+---------------+------------+---------------+-----------+----------------------
//   yes                    | any      | any           | any        | any           | any       | cut off the response
//   no                     | CONNECT  | no            | any        | yes           | any       | next endpoint
//   no                     | CONNECT  | no            | any        | no            | yes       | next peer
//   no                     | CONNECT  | no            | any        | no            | no        | 502
//   no                     | CONNECT  | yes           | any        | any           | any       | 502
//   no                     | RESET    | no            | yes        | yes           | any       | next endpoint
//   no                     | RESET    | no            | yes        | no            | yes       | next peer
//   no                     | RESET    | no            | yes        | no            | no        | 502
//   no                     | RESET    | no            | no         | any           | any       | 502
//   no                     | RESET    | yes           | any        | any           | any       | 502
//   no                     | TIMEOUT  | any           | any        | any           | any       | 504
//   no                     | PROTOCOL | any           | any        | any           | any       | 502
//
// 503 is never this policy's answer: it is decide()'s, before any attempt, when the backend has no ready
// endpoint. Once an upstream was tried, its failure is a 502, its silence a 504 (a connect timeout is a failure
// to connect, so 502, where nginx says 504).
//
// A route with proxy-next-upstream* annotations (RoutePolicies.retry) is decided by routeRetryDecision instead:
// nginx's proxy_next_upstream conditions, each failure class mapped to nginx's word for it —
//   CONNECT refused/unreachable → error, CONNECT timed out → timeout, RESET → error, TIMEOUT → timeout,
//   PROTOCOL → invalid_header, an answer with status NNN → http_NNN (statusRetryDecision) —
// and these limits, nginx's too: nothing sent to the client yet; a request the upstream may have received is
// moved only if idempotent or `non_idempotent` is listed; at most `tries` attempts in all (0: no limit but the
// endpoints and peers); no new attempt `timeoutMs` after the first began (0: no limit); `off` (no conditions):
// never. One rule stays Portico's whatever is listed: a request body is streamed, never buffered, so once part of
// it left the gateway the request is not sent again, not even with `non_idempotent` (nginx buffers the body by
// default and resends it).
//
// The metrics label (portico_upstream_errors_total{code}) is the error class, the same four strings on every
// runtime; the raw code (ECONNREFUSED, ...) goes to logs and to the tunnel's error header.
import type { UpstreamErrorCode } from '../errors.ts';
import type { RetryPolicy } from '../table/schema.ts';

export interface FailedAttempt {
  /** The failure's class (classifyUpstreamError, or the Web forwarder's classifyFetchError). */
  code: UpstreamErrorCode;
  /** Some of the request body left the gateway and cannot be sent again. False for a request without a body,
   * and for one whose body nobody read yet. */
  bodyStreamed: boolean;
  /** Some of the response reached this side (status line, headers or body): the client's answer has begun. */
  responseStarted: boolean;
  /** The method may be repeated (isIdempotent). */
  idempotent: boolean;
  /** Attempts on this backend so far, the failed one included. */
  attempts: number;
  /** Endpoints the backend has (1 for a peer cluster's backend: its gateway chooses). */
  endpoints: number;
  /** A peer cluster could still be asked for this request (configured, reachable through the tunnel, not all
   * tried). The caller finds out which; if none serves the route, it asks again with false. */
  peerAvailable: boolean;
  /** Read with a route's retry policy only. The CONNECT failure was the connect timeout (nginx's `timeout`, not
   * `error`). */
  connectTimedOut?: boolean;
  /** Read with a route's retry policy only: attempts so far across endpoints and peers (proxy-next-upstream-tries). */
  tries?: number;
  /** Read with a route's retry policy only: milliseconds since the first attempt began (proxy-next-upstream-timeout). */
  elapsedMs?: number;
}

export type RetryDecision =
  | { readonly action: 'next-endpoint' | 'next-peer' | 'cut-off'; readonly label: UpstreamErrorCode }
  | { readonly action: 'answer'; readonly status: 502 | 504; readonly label: UpstreamErrorCode };

/** RFC 9110 §9.2.2. Methods are case-sensitive (§9.1): `get` is not GET. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'TRACE':
    case 'PUT':
    case 'DELETE':
      return true;
    default:
      return false;
  }
}

// Every decision exists once, made at load: deciding allocates nothing.
const decisions = (label: UpstreamErrorCode) => ({
  nextEndpoint: Object.freeze({ action: 'next-endpoint', label } as const),
  nextPeer: Object.freeze({ action: 'next-peer', label } as const),
  cutOff: Object.freeze({ action: 'cut-off', label } as const),
  answer: Object.freeze({ action: 'answer', status: label === 'PORTICO_UPSTREAM_TIMEOUT' ? 504 : 502, label } as const),
});
const CONNECT = decisions('PORTICO_UPSTREAM_CONNECT');
const RESET = decisions('PORTICO_UPSTREAM_RESET');
const TIMEOUT = decisions('PORTICO_UPSTREAM_TIMEOUT');
const PROTOCOL = decisions('PORTICO_UPSTREAM_PROTOCOL');

/** The decisions of a failure's kind. */
function decisionsFor(f: FailedAttempt): ReturnType<typeof decisions> {
  return f.code === 'PORTICO_UPSTREAM_CONNECT'
    ? CONNECT
    : f.code === 'PORTICO_UPSTREAM_RESET'
      ? RESET
      : f.code === 'PORTICO_UPSTREAM_TIMEOUT'
        ? TIMEOUT
        : PROTOCOL;
}

/** The policy above, as a few comparisons. */
export function retryDecision(f: FailedAttempt): RetryDecision {
  const d = decisionsFor(f);
  if (f.responseStarted) return d.cutOff;
  const repeatable = !f.bodyStreamed && (d === CONNECT || (d === RESET && f.idempotent));
  if (!repeatable) return d.answer;
  if (f.attempts < f.endpoints) return d.nextEndpoint;
  return f.peerAvailable ? d.nextPeer : d.answer;
}

/** The nginx word for a failure (proxy_next_upstream), and whether the upstream may have received the request. */
function conditionOf(f: FailedAttempt): { on: 'error' | 'timeout' | 'invalid_header'; reached: boolean } {
  switch (f.code) {
    case 'PORTICO_UPSTREAM_CONNECT':
      return { on: f.connectTimedOut === true ? 'timeout' : 'error', reached: false };
    case 'PORTICO_UPSTREAM_RESET':
      return { on: 'error', reached: true };
    case 'PORTICO_UPSTREAM_TIMEOUT':
      return { on: 'timeout', reached: true };
    default:
      return { on: 'invalid_header', reached: true };
  }
}

/** Whether the limits of `policy` leave room for another attempt of a request that reached (or not) the
 * upstream; the condition itself is the caller's. */
function mayMoveOn(f: FailedAttempt, policy: RetryPolicy, reached: boolean): boolean {
  if (f.bodyStreamed) return false; // a streamed body cannot be sent again (Portico never buffers it)
  if (reached && !f.idempotent && !policy.on.includes('non_idempotent')) return false;
  if (policy.tries > 0 && (f.tries ?? f.attempts) >= policy.tries) return false;
  return !(policy.timeoutMs > 0 && (f.elapsedMs ?? 0) >= policy.timeoutMs);
}

/** retryDecision for a route with a retry policy (proxy-next-upstream*): see the comment at the top. */
export function routeRetryDecision(f: FailedAttempt, policy: RetryPolicy): RetryDecision {
  const d = decisionsFor(f);
  if (f.responseStarted) return d.cutOff;
  const c = conditionOf(f);
  if (!policy.on.includes(c.on) || !mayMoveOn(f, policy, c.reached)) return d.answer;
  if (f.attempts < f.endpoints) return d.nextEndpoint;
  return f.peerAvailable ? d.nextPeer : d.answer;
}

export type StatusRetry = 'next-endpoint' | 'next-peer' | null;

/** An upstream answered `status` before anything reached the client: whether to drop that answer and ask the
 * next endpoint or peer (proxy-next-upstream http_500 ... http_429). null: the answer goes to the client, as
 * nginx passes on the last server's answer when no other may be tried. `f.code` is not read. */
export function statusRetryDecision(status: number, f: FailedAttempt, policy: RetryPolicy): StatusRetry {
  const word = `http_${status}`;
  if (!policy.on.includes(word as RetryPolicy['on'][number]) || !mayMoveOn(f, policy, true)) return null;
  if (f.attempts < f.endpoints) return 'next-endpoint';
  return f.peerAvailable ? 'next-peer' : null;
}
