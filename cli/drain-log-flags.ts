// The worker flags of graceful drain and access logs, shared by `portico local` and `portico worker` (serve.ts).
import { DEFAULT_DRAIN, type DrainTimes } from '../gateway/runtime/node-drain.ts';
import type { AccessLogTarget } from '../gateway/runtime/node-access-sink.ts';
import { duration } from './args.ts';
import { UsageError } from './usage-error.ts';

export const DRAIN_LOG_FLAGS = {
  'drain-delay': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'access-log': { type: 'string' },
  'access-log-sample': { type: 'string' },
} as const;

export const DRAIN_LOG_USAGE = `[--drain-delay 5s] [--drain-timeout 30s] [--access-log off|stdout|stderr|PATH] [--access-log-sample 1.0]`;

/** The access log as flags set it: plain data, it crosses to `portico local`'s worker processes as JSON. */
export interface AccessLogConfig {
  target: AccessLogTarget;
  /** The fraction of requests logged, in (0, 1]. */
  sample: number;
}

export interface DrainLogConfig {
  drain: DrainTimes;
  /** null: `--access-log off`. */
  accessLog: AccessLogConfig | null;
}

export function parseDrainLogFlags(v: {
  'drain-delay'?: string;
  'drain-timeout'?: string;
  'access-log'?: string;
  'access-log-sample'?: string;
}): DrainLogConfig {
  const drain = {
    // 0 is allowed: no load balancer to wait for (a developer's `portico local`).
    delayMs: v['drain-delay'] === undefined ? DEFAULT_DRAIN.delayMs : duration('drain-delay', v['drain-delay'], 0),
    timeoutMs: v['drain-timeout'] === undefined ? DEFAULT_DRAIN.timeoutMs : duration('drain-timeout', v['drain-timeout']),
  };
  const s = v['access-log-sample'] ?? '1.0';
  const sample = /^(?:0|1)(?:\.\d+)?$|^\.\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!(sample > 0 && sample <= 1))
    throw new UsageError(`--access-log-sample: expected a fraction above 0 and at most 1 (1.0: every request), got ${JSON.stringify(s)}`);
  const t = v['access-log'] ?? 'stdout';
  if (t === 'off') return { drain, accessLog: null };
  if (t === '') throw new UsageError('--access-log: expected off, stdout, stderr or a file path, got ""');
  return { drain, accessLog: { target: t === 'stdout' || t === 'stderr' ? t : { path: t }, sample } };
}

/** How long a stop may take before portico.ts gives up on it: the whole drain, plus a margin to close the rest. */
export const shutdownBudgetMs = (d: DrainTimes): number => d.delayMs + d.timeoutMs + 5_000;
