// The one retry/failover policy (gateway/proxy/retry-policy.ts) as a case table: every row is a failed upstream
// attempt, named by what it is, and the decision every runtime must take for it. The raw error goes through the
// classifier the runtime uses (classifyUpstreamError on Node and in the tunnel, classifyFetchError on Deno and
// workerd), so the rows also pin which class, and so which metrics label, each failure gets.
import { describe, expect, it } from 'vitest';
import { classifyUpstreamError, type UpstreamErrorCode } from '../../gateway/errors.ts';
import { classifyFetchError } from '../../gateway/proxy/web-forwarder.ts';
import { type FailedAttempt, isIdempotent, type RetryDecision, retryDecision } from '../../gateway/proxy/retry-policy.ts';
import { TunnelReportedError } from '../../gateway/table/tunnel-protocol.ts';

const CONNECT: UpstreamErrorCode = 'PORTICO_UPSTREAM_CONNECT';
const RESET: UpstreamErrorCode = 'PORTICO_UPSTREAM_RESET';
const TIMEOUT: UpstreamErrorCode = 'PORTICO_UPSTREAM_TIMEOUT';
const PROTOCOL: UpstreamErrorCode = 'PORTICO_UPSTREAM_PROTOCOL';

const coded = (code: string) => Object.assign(new Error(code), { code });
/** How the runtimes see a failure: an undici/Node error code, the tunnel's report, or fetch()'s wording. */
const node = (code: string) => classifyUpstreamError(coded(code), '10.0.0.1:80').code;
const tunnel = (code: string) => classifyUpstreamError(new TunnelReportedError(code), '10.0.0.1:80').code;
const web = (message: string, timedOut = false) => classifyFetchError(new TypeError(message), '10.0.0.1:80', timedOut).code;

/** A GET without a body, first of three endpoints, no response yet, no peer: every row changes what it is about. */
const base: FailedAttempt = {
  code: CONNECT,
  bodyStreamed: false,
  responseStarted: false,
  idempotent: true,
  attempts: 1,
  endpoints: 3,
  peerAvailable: false,
};

type Row = [name: string, attempt: Partial<FailedAttempt>, expected: RetryDecision];
const nextEndpoint = (label: UpstreamErrorCode): RetryDecision => ({ action: 'next-endpoint', label });
const nextPeer = (label: UpstreamErrorCode): RetryDecision => ({ action: 'next-peer', label });
const cutOff = (label: UpstreamErrorCode): RetryDecision => ({ action: 'cut-off', label });
const answer = (status: 502 | 504, label: UpstreamErrorCode): RetryDecision => ({ action: 'answer', status, label });

const rows: Row[] = [
  // ---- nothing reached an application (CONNECT): always safe to send again, if the body is still whole ----
  ['connection refused, endpoints left: next endpoint', { code: node('ECONNREFUSED') }, nextEndpoint(CONNECT)],
  ['connect timeout, endpoints left: next endpoint', { code: node('UND_ERR_CONNECT_TIMEOUT') }, nextEndpoint(CONNECT)],
  ['host unreachable, endpoints left: next endpoint', { code: node('EHOSTUNREACH') }, nextEndpoint(CONNECT)],
  ['refused connect of a POST (nothing was sent): next endpoint', { code: node('ECONNREFUSED'), idempotent: false }, nextEndpoint(CONNECT)],
  [
    'refused connect of a PUT whose body nobody read yet: next endpoint',
    { code: node('ECONNREFUSED'), idempotent: true, bodyStreamed: false },
    nextEndpoint(CONNECT),
  ],
  [
    'the tunnel reports a refused connect: next endpoint, as if the worker had dialled',
    { code: tunnel('ECONNREFUSED') },
    nextEndpoint(CONNECT),
  ],
  [
    'the tunnel refuses an endpoint outside its table (a worker a table ahead): next endpoint',
    { code: tunnel('PORTICO_TUNNEL_DENIED') },
    nextEndpoint(CONNECT),
  ],
  [
    'Deno: "tcp connect error: Connection refused": next endpoint',
    { code: web('error sending request: tcp connect error: Connection refused (os error 111)') },
    nextEndpoint(CONNECT),
  ],
  [
    'refused connect on the last endpoint, a peer may serve the route: next peer',
    { code: node('ECONNREFUSED'), attempts: 3, peerAvailable: true },
    nextPeer(CONNECT),
  ],
  [
    "a peer cluster's gateway refuses the token: next peer (a peer counts as one endpoint)",
    { code: tunnel('PORTICO_PEER_TOKEN_EXPIRED'), attempts: 1, endpoints: 1, peerAvailable: true },
    nextPeer(CONNECT),
  ],
  [
    'a peer has no ready endpoint for the backend: next peer',
    { code: tunnel('PORTICO_PEER_NO_ENDPOINTS'), attempts: 1, endpoints: 1, peerAvailable: true },
    nextPeer(CONNECT),
  ],
  ['every endpoint refused and no peer is left: 502', { code: node('ECONNREFUSED'), attempts: 3 }, answer(502, CONNECT)],
  ['a single endpoint refused, no peer: 502', { code: node('ECONNREFUSED'), endpoints: 1 }, answer(502, CONNECT)],
  [
    'refused by the tunnel after the body was streamed to it: 502, the body cannot be sent again',
    { code: tunnel('ECONNREFUSED'), bodyStreamed: true, idempotent: false },
    answer(502, CONNECT),
  ],
  [
    'refused with the body streamed, even with endpoints and a peer left: 502',
    { code: CONNECT, bodyStreamed: true, peerAvailable: true },
    answer(502, CONNECT),
  ],

  // ---- the connection broke before a response (RESET): the upstream may have the request ----
  // Behaviour change on Node (forwarder, WebSocket upgrades) and in the tunnel's relay: they moved on only after a
  // refused connect; the Web forwarder already retried these, nginx does too (`error` without `non_idempotent`).
  [
    'CHANGED on Node and the tunnel: reset of a GET without a body, endpoints left: next endpoint',
    { code: node('ECONNRESET') },
    nextEndpoint(RESET),
  ],
  [
    'CHANGED on Node and the tunnel: keep-alive connection closed under a HEAD (UND_ERR_SOCKET): next endpoint',
    { code: node('UND_ERR_SOCKET') },
    nextEndpoint(RESET),
  ],
  ['CHANGED on Node and the tunnel: reset of a DELETE without a body: next endpoint', { code: node('EPIPE') }, nextEndpoint(RESET)],
  ['CHANGED on Node: the tunnel reports a reset of a GET: next endpoint', { code: tunnel('ECONNRESET') }, nextEndpoint(RESET)],
  [
    'CHANGED on Node: reset of a GET on the last endpoint, a peer may serve the route: next peer',
    { code: node('ECONNRESET'), attempts: 3, peerAvailable: true },
    nextPeer(RESET),
  ],
  [
    'workerd: "Network connection lost." for a GET: next endpoint (it words a refused connect so)',
    { code: web('Network connection lost.') },
    nextEndpoint(RESET),
  ],
  ['reset of a POST: 502, never sent twice', { code: node('ECONNRESET'), idempotent: false }, answer(502, RESET)],
  [
    'reset of a PATCH with endpoints and a peer left: 502',
    { code: node('ECONNRESET'), idempotent: false, peerAvailable: true },
    answer(502, RESET),
  ],
  [
    'workerd: "Network connection lost." for a POST: 502 (it may have been a reset after sending)',
    { code: web('Network connection lost.'), idempotent: false },
    answer(502, RESET),
  ],
  [
    'reset of a PUT whose body was streamed: 502, the body cannot be sent again',
    { code: node('ECONNRESET'), bodyStreamed: true },
    answer(502, RESET),
  ],
  ['reset of a GET on the last endpoint, no peer: 502', { code: node('ECONNRESET'), attempts: 3 }, answer(502, RESET)],

  // ---- no response in time (TIMEOUT): never retried, 504 ----
  ['no response headers within the read timeout: 504, not retried', { code: node('UND_ERR_HEADERS_TIMEOUT') }, answer(504, TIMEOUT)],
  ['read timeout with endpoints and a peer left: 504, not retried', { code: TIMEOUT, peerAvailable: true }, answer(504, TIMEOUT)],
  ['the tunnel reports a read timeout: 504', { code: tunnel('UND_ERR_HEADERS_TIMEOUT') }, answer(504, TIMEOUT)],
  ['fetch() aborted by the read timeout: 504', { code: web('The signal has been aborted', true) }, answer(504, TIMEOUT)],

  // ---- anything else (PROTOCOL): the upstream may have acted on it, never retried, 502 ----
  ['a malformed upstream response: 502, not retried', { code: node('HPE_INVALID_CONSTANT') }, answer(502, PROTOCOL)],
  ['an error without a code: 502, not retried', { code: node('') }, answer(502, PROTOCOL)],
  [
    'the tunnel refuses a malformed endpoint header: 502, not retried',
    { code: tunnel('PORTICO_TUNNEL_BAD_REQUEST') },
    answer(502, PROTOCOL),
  ],
  [
    "a peer gateway's certificate is not trusted: 502, no other peer",
    { code: tunnel('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), endpoints: 1, peerAvailable: true },
    answer(502, PROTOCOL),
  ],

  // ---- a response has begun: nothing can be retried or answered, the client's response is cut off ----
  ['the upstream went silent mid-body: cut off', { code: node('UND_ERR_BODY_TIMEOUT'), responseStarted: true }, cutOff(TIMEOUT)],
  [
    'the connection broke mid-body of a GET with endpoints left: cut off, not retried',
    { code: node('ECONNRESET'), responseStarted: true },
    cutOff(RESET),
  ],
  ['a malformed chunk mid-body: cut off', { code: PROTOCOL, responseStarted: true, peerAvailable: true }, cutOff(PROTOCOL)],
];

describe('retry policy: what follows a failed upstream attempt', () => {
  it.each(rows)('%s', (_name, attempt, expected) => {
    expect(retryDecision({ ...base, ...attempt })).toEqual(expected);
  });

  it('covers every class in every state the table distinguishes', () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    const actions = new Set(rows.map(([, a]) => retryDecision({ ...base, ...a }).action));
    expect([...actions].sort()).toEqual(['answer', 'cut-off', 'next-endpoint', 'next-peer']);
    const labels = new Set(rows.map(([, a]) => retryDecision({ ...base, ...a }).label));
    expect([...labels].sort()).toEqual([CONNECT, PROTOCOL, RESET, TIMEOUT]);
  });

  it('decides without allocating: the same decision is the same object', () => {
    const a = retryDecision({ ...base });
    expect(retryDecision({ ...base })).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it("endpoints before peers: a peer is asked only once the backend's endpoints are used up", () => {
    expect(retryDecision({ ...base, attempts: 2, peerAvailable: true }).action).toBe('next-endpoint');
    expect(retryDecision({ ...base, attempts: 3, peerAvailable: true }).action).toBe('next-peer');
  });
});

describe('idempotent methods (RFC 9110 §9.2.2)', () => {
  it.each([
    ['GET', true],
    ['HEAD', true],
    ['OPTIONS', true],
    ['TRACE', true],
    ['PUT', true],
    ['DELETE', true],
    ['POST', false],
    ['PATCH', false],
    ['CONNECT', false],
    ['LOCK', false],
    // Unknown to the RFC's list: not assumed repeatable (nginx would repeat them).
    ['PROPFIND', false],
    ['PURGE', false],
    // Methods are case-sensitive (§9.1).
    ['get', false],
  ])('%s: %s', (method, expected) => {
    expect(isIdempotent(method)).toBe(expected);
  });
});
