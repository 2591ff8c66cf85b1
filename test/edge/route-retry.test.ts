// A route's own retry policy (proxy-next-upstream, -tries, -timeout → RoutePolicies.retry) as a case table:
// nginx's proxy_next_upstream conditions and limits (ngx_http_proxy_module docs; ingress-nginx's proxy.go
// "should build proxy next upstream"), with Portico's one exception: a streamed request body is never sent again,
// not even with non_idempotent.
import { describe, expect, it } from 'vitest';
import type { UpstreamErrorCode } from '../../gateway/errors.ts';
import {
  type FailedAttempt,
  type RetryDecision,
  routeRetryDecision,
  type StatusRetry,
  statusRetryDecision,
} from '../../gateway/proxy/retry-policy.ts';
import type { RetryPolicy } from '../../gateway/table/schema.ts';

const CONNECT: UpstreamErrorCode = 'PORTICO_UPSTREAM_CONNECT';
const RESET: UpstreamErrorCode = 'PORTICO_UPSTREAM_RESET';
const TIMEOUT: UpstreamErrorCode = 'PORTICO_UPSTREAM_TIMEOUT';
const PROTOCOL: UpstreamErrorCode = 'PORTICO_UPSTREAM_PROTOCOL';

/** A GET without a body, first of three endpoints, no response yet, no peer. */
const base: FailedAttempt = {
  code: CONNECT,
  bodyStreamed: false,
  responseStarted: false,
  idempotent: true,
  attempts: 1,
  endpoints: 3,
  peerAvailable: false,
  tries: 1,
  elapsedMs: 0,
};
/** ingress-nginx's default proxy-next-upstream, "error timeout", tries 3, no time limit. */
const nginxDefault: RetryPolicy = { on: ['error', 'timeout'], tries: 3, timeoutMs: 0 };
const policy = (p: Partial<RetryPolicy>): RetryPolicy => ({ ...nginxDefault, ...p });

const next = (label: UpstreamErrorCode): RetryDecision => ({ action: 'next-endpoint', label });
const peer = (label: UpstreamErrorCode): RetryDecision => ({ action: 'next-peer', label });
const answer = (status: 502 | 504, label: UpstreamErrorCode): RetryDecision => ({ action: 'answer', status, label });
const cutOff = (label: UpstreamErrorCode): RetryDecision => ({ action: 'cut-off', label });

type Row = [name: string, attempt: Partial<FailedAttempt>, p: RetryPolicy, expected: RetryDecision];
const rows: Row[] = [
  ['error: a refused connect moves on', { code: CONNECT }, nginxDefault, next(CONNECT)],
  ['error: a reset GET moves on', { code: RESET }, nginxDefault, next(RESET)],
  ["timeout listed: a response timeout of a GET moves on (Portico's default never does)", { code: TIMEOUT }, nginxDefault, next(TIMEOUT)],
  ['timeout listed: a connect timeout moves on', { code: CONNECT, connectTimedOut: true }, policy({ on: ['timeout'] }), next(CONNECT)],
  [
    'only timeout listed: a refused connect is an error, answered 502',
    { code: CONNECT },
    policy({ on: ['timeout'] }),
    answer(502, CONNECT),
  ],
  ['only error listed: a response timeout is answered 504', { code: TIMEOUT }, policy({ on: ['error'] }), answer(504, TIMEOUT)],
  [
    'only error listed: a connect timeout is answered 502',
    { code: CONNECT, connectTimedOut: true },
    policy({ on: ['error'] }),
    answer(502, CONNECT),
  ],
  ['invalid_header listed: a protocol failure moves on', { code: PROTOCOL }, policy({ on: ['invalid_header'] }), next(PROTOCOL)],
  ['invalid_header not listed: a protocol failure is 502', { code: PROTOCOL }, nginxDefault, answer(502, PROTOCOL)],
  ['off (no conditions): a refused connect is 502 at once', { code: CONNECT }, policy({ on: [] }), answer(502, CONNECT)],
  ['a reset POST is not sent again without non_idempotent', { code: RESET, idempotent: false }, nginxDefault, answer(502, RESET)],
  [
    'a reset POST is sent again with non_idempotent',
    { code: RESET, idempotent: false },
    policy({ on: ['error', 'non_idempotent'] }),
    next(RESET),
  ],
  [
    'a refused POST moves on without non_idempotent: the upstream saw nothing',
    { code: CONNECT, idempotent: false },
    nginxDefault,
    next(CONNECT),
  ],
  [
    'a streamed body is never sent again, even with non_idempotent',
    { code: RESET, idempotent: false, bodyStreamed: true },
    policy({ on: ['error', 'non_idempotent'] }),
    answer(502, RESET),
  ],
  ['a streamed body after a refused connect: 502', { code: CONNECT, bodyStreamed: true }, nginxDefault, answer(502, CONNECT)],
  ['tries 2: the second failure is final', { code: CONNECT, attempts: 2, tries: 2 }, policy({ tries: 2 }), answer(502, CONNECT)],
  ['tries 2: the first failure moves on', { code: CONNECT }, policy({ tries: 2 }), next(CONNECT)],
  ['tries 0 is no limit but the endpoints', { code: CONNECT, attempts: 2, tries: 2 }, policy({ tries: 0 }), next(CONNECT)],
  ['every endpoint tried: 502 whatever tries allows', { code: CONNECT, attempts: 3, tries: 3 }, policy({ tries: 0 }), answer(502, CONNECT)],
  [
    'tries count peers too',
    { code: CONNECT, attempts: 1, endpoints: 1, tries: 3, peerAvailable: true },
    nginxDefault,
    answer(502, CONNECT),
  ],
  [
    'endpoints exhausted, a peer left: next peer',
    { code: CONNECT, attempts: 1, endpoints: 1, peerAvailable: true },
    nginxDefault,
    peer(CONNECT),
  ],
  [
    'timeout 1000 ms, 1200 ms since the first attempt: final',
    { code: CONNECT, elapsedMs: 1200 },
    policy({ timeoutMs: 1000 }),
    answer(502, CONNECT),
  ],
  [
    'timeout 1000 ms, 800 ms since the first attempt: moves on',
    { code: CONNECT, elapsedMs: 800 },
    policy({ timeoutMs: 1000 }),
    next(CONNECT),
  ],
  ['a response already begun is cut off', { code: TIMEOUT, responseStarted: true }, nginxDefault, cutOff(TIMEOUT)],
];

describe('routeRetryDecision: proxy-next-upstream conditions and limits', () => {
  for (const [name, attempt, p, expected] of rows) {
    it(name, () => expect(routeRetryDecision({ ...base, ...attempt }, p)).toEqual(expected));
  }
});

type StatusRow = [name: string, status: number, attempt: Partial<FailedAttempt>, p: RetryPolicy, expected: StatusRetry];
const statusRows: StatusRow[] = [
  ['http_502 listed, 502 answer: next endpoint', 502, {}, policy({ on: ['http_502'] }), 'next-endpoint'],
  ['http_502 not listed: the 502 goes to the client', 502, {}, nginxDefault, null],
  ['http_503 listed, 502 answer: the 502 goes to the client', 502, {}, policy({ on: ['http_503'] }), null],
  ['http_404 listed: next endpoint', 404, {}, policy({ on: ['http_404'] }), 'next-endpoint'],
  ['http_429 listed: next endpoint', 429, {}, policy({ on: ['http_429'] }), 'next-endpoint'],
  [
    "last endpoint: its answer goes to the client, as nginx passes on the last server's",
    502,
    { attempts: 3, tries: 3 },
    policy({ on: ['http_502'], tries: 0 }),
    null,
  ],
  ["a POST's 503 is passed on without non_idempotent", 503, { idempotent: false }, policy({ on: ['http_503'] }), null],
  [
    'a POST without a body is asked again with non_idempotent',
    503,
    { idempotent: false },
    policy({ on: ['http_503', 'non_idempotent'] }),
    'next-endpoint',
  ],
  [
    'a request whose body was streamed: the answer goes to the client',
    503,
    { bodyStreamed: true },
    policy({ on: ['http_503', 'non_idempotent'] }),
    null,
  ],
  ['tries reached: passed on', 503, { attempts: 2, tries: 2 }, policy({ on: ['http_503'], tries: 2 }), null],
  [
    'endpoints exhausted, peer left: next peer',
    503,
    { attempts: 1, endpoints: 1, peerAvailable: true },
    policy({ on: ['http_503'] }),
    'next-peer',
  ],
];

describe('statusRetryDecision: proxy-next-upstream http_NNN', () => {
  for (const [name, status, attempt, p, expected] of statusRows) {
    it(name, () => expect(statusRetryDecision(status, { ...base, ...attempt }, p)).toBe(expected));
  }
});
