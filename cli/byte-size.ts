// Sizes on the command line as nginx writes them (client_body_buffer_size 16k, 1m): bytes, `k` or `m` (1024-based).
import { UsageError } from './usage-error.ts';

/** `65536`, `64k`, `1m` (case-insensitive) as bytes, from 0 to `max`. */
export function byteSize(flag: string, value: string, max: number): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (!m) throw new UsageError(`--${flag}: expected a size like 16k, 64k or 1m, got ${JSON.stringify(value)}`);
  const unit = m[2]!.toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
  if (n > max) throw new UsageError(`--${flag}: must be at most ${max} bytes, got ${JSON.stringify(value)}`);
  return n;
}
