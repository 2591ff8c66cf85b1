// The request-head limit flags of `portico local` and `portico worker` (gateway/runtime/node-request-head.ts):
// nginx-like sizes (`8k`, `32k`, `1m`, or bytes) and a field count, each checked with one clear line (exit 2).
import { DEFAULT_HEAD_LIMITS, type RequestHeadLimits } from '../gateway/runtime/node-request-head.ts';
import { positiveInt } from './args.ts';
import { UsageError } from './usage-error.ts';

export const HEAD_LIMIT_FLAGS = {
  'max-request-headers': { type: 'string' },
  'max-request-header-line': { type: 'string' },
  'max-request-head': { type: 'string' },
} as const;

export const HEAD_LIMIT_USAGE = '[--max-request-headers 100] [--max-request-header-line 8k] [--max-request-head 32k]';

/** nginx's size syntax (`8k`, `1m`, bytes), between `min` and `max` bytes. */
export function byteSize(flag: string, value: string, min: number, max: number): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (!m) throw new UsageError(`--${flag}: expected a size like 8k, 32k or 1m, got ${JSON.stringify(value)}`);
  const unit = m[2]!.toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
  if (n < min || n > max) throw new UsageError(`--${flag}: must be between ${min} bytes and ${max / 1024}k, got ${JSON.stringify(value)}`);
  return n;
}

export function parseHeadLimits(v: {
  'max-request-headers'?: string;
  'max-request-header-line'?: string;
  'max-request-head'?: string;
}): RequestHeadLimits {
  const d = DEFAULT_HEAD_LIMITS;
  const l: RequestHeadLimits = {
    maxHeaders:
      v['max-request-headers'] === undefined ? d.maxHeaders : positiveInt('max-request-headers', v['max-request-headers'], 10_000),
    // Below 256 bytes common requests (a Cookie, a User-Agent) would be refused; above 1m the head is a body.
    maxLineBytes:
      v['max-request-header-line'] === undefined
        ? d.maxLineBytes
        : byteSize('max-request-header-line', v['max-request-header-line'], 256, 1024 * 1024),
    maxHeadBytes:
      v['max-request-head'] === undefined ? d.maxHeadBytes : byteSize('max-request-head', v['max-request-head'], 1024, 1024 * 1024),
  };
  if (l.maxLineBytes > l.maxHeadBytes)
    throw new UsageError(
      `--max-request-header-line (${l.maxLineBytes} bytes) cannot be larger than --max-request-head (${l.maxHeadBytes} bytes)`,
    );
  return l;
}
