// Which refusals are final and which transient, and the memory that makes a refused pointer reported once
// (logged, counted, put in the heartbeat) rather than on every poll.
import { PorticoError } from '../table/portico-error.ts';

export class RefusedError extends PorticoError {
  constructor(
    readonly code: 'PORTICO_TABLE_OLDER' | 'PORTICO_TABLE_POINTER',
    message: string,
  ) {
    super(message);
  }
}

/** Problems that retrying cannot fix: the pointer is refused until it changes. Anything else (a missing
 * part, an error reply from Redis) may be a moment's state and is retried after TRANSIENT_RETRY_MS. */
const FINAL = new Set([
  'PORTICO_BUNDLE_SIGNATURE',
  'PORTICO_BUNDLE_MANIFEST',
  'PORTICO_BUNDLE_FORMAT',
  'PORTICO_BUNDLE_CLUSTER',
  'PORTICO_BUNDLE_VERSION',
  'PORTICO_BUNDLE_DIGEST',
  'PORTICO_BUNDLE_TOO_LARGE',
  'PORTICO_BUNDLE_INVALID',
  'PORTICO_BUNDLE_DECRYPT',
  'PORTICO_TABLE_OLDER',
  'PORTICO_TABLE_POINTER',
]);
const TRANSIENT_RETRY_MS = 10_000;

const isFinal = (code: string): boolean => FINAL.has(code);

/** The stable code of anything thrown while loading a table. */
export function refusalCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'PORTICO_TABLE_REFUSED';
}

export class RefusalMemory {
  /** The pointer refused last, with what, and until when (Infinity: until it changes). */
  private last: { pointer: string; code: string; until: number } | null = null;

  /** Whether `pointer` is still refused, so the check can skip it without reading anything more. */
  skips(pointer: string): boolean {
    return this.last !== null && this.last.pointer === pointer && Date.now() < this.last.until;
  }

  /** Remembers the refusal; true when it repeats the last one (same pointer, same code): not reported again. */
  remember(pointer: string, code: string): boolean {
    const repeated = this.last !== null && this.last.pointer === pointer && this.last.code === code;
    this.last = { pointer, code, until: isFinal(code) ? Infinity : Date.now() + TRANSIENT_RETRY_MS };
    return repeated;
  }

  forget(): void {
    this.last = null;
  }
}
