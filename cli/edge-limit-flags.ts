// The worker flags of the HTTP/2 limits and the upstream pool bound (gateway/runtime/node-h2-limits.ts,
// gateway/proxy/pool-queue.ts), shared by `portico local` and `portico worker` through serve.ts.
import { DEFAULT_H2_LIMITS, type H2Limits } from '../gateway/runtime/node-h2-limits.ts';
import { DEFAULT_POOL_LIMITS, type PoolLimits } from '../gateway/proxy/pool-queue.ts';
import { duration } from './args.ts';
import { UsageError } from './usage-error.ts';

export const EDGE_LIMIT_FLAGS = {
  'http2-max-concurrent-streams': { type: 'string' },
  'http2-max-resets': { type: 'string' },
  'upstream-max-connections': { type: 'string' },
  'upstream-queue-timeout': { type: 'string' },
} as const;

export const EDGE_LIMIT_USAGE = `[--http2-max-concurrent-streams 128] [--http2-max-resets 100] [--upstream-max-connections 256] [--upstream-queue-timeout 5s]
--http2-max-resets: streams a client may reset before their answer, per connection per 10 s (0: no limit); past it GOAWAY ENHANCE_YOUR_CALM
--upstream-max-connections: per endpoint per worker (0: no cap); a request waits --upstream-queue-timeout (0: no limit) for one, then 503`;

function count(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d{1,10}$/.test(value) || n < min || n > max)
    throw new UsageError(`--${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseEdgeLimitFlags(v: {
  'http2-max-concurrent-streams'?: string;
  'http2-max-resets'?: string;
  'upstream-max-connections'?: string;
  'upstream-queue-timeout'?: string;
}): { http2: H2Limits; upstreamPool: PoolLimits } {
  const d = DEFAULT_H2_LIMITS;
  const queue = v['upstream-queue-timeout'];
  return {
    http2: {
      // RFC 9113 §6.5.2 allows up to 2^31-1; nginx's http2_max_concurrent_streams has no upper bound either.
      maxConcurrentStreams: count(
        'http2-max-concurrent-streams',
        v['http2-max-concurrent-streams'] ?? String(d.maxConcurrentStreams),
        1,
        2 ** 31 - 1,
      ),
      maxResets: count('http2-max-resets', v['http2-max-resets'] ?? String(d.maxResets), 0, 1_000_000),
      resetWindowMs: d.resetWindowMs,
    },
    upstreamPool: {
      maxConnections: count(
        'upstream-max-connections',
        v['upstream-max-connections'] ?? String(DEFAULT_POOL_LIMITS.maxConnections),
        0,
        65_535,
      ),
      queueTimeoutMs:
        queue === undefined ? DEFAULT_POOL_LIMITS.queueTimeoutMs : queue === '0' ? 0 : duration('upstream-queue-timeout', queue),
    },
  };
}
