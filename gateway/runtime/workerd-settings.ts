// The workerd worker's settings from its environment (bindings), checked: an isolate has no command line, so a bad
// value is refused at its first request with one clear message rather than running with a NaN timer.
import { PorticoError } from '../table/portico-error.ts';

/** Settings a worker cannot honour: refused at its first request (an isolate has no command line to exit from). */
export class WorkerdConfigError extends PorticoError {
  readonly code = 'PORTICO_WORKERD_CONFIG';
}

/** A milliseconds setting: a whole number of milliseconds (`60s` is the Deno flag's form, not this one's), else
 * refused: NaN would make every timer fire at once. */
export function millisecondsSetting(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(ms) || ms <= 0)
    throw new WorkerdConfigError(`${name}: expected a whole number of milliseconds above 0, got ${JSON.stringify(value)}`);
  return ms;
}
