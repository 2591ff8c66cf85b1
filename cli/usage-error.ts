// A bad command-line flag or unreadable input: one line on stderr and exit code 2.
import { PorticoError } from '../gateway/table/portico-error.ts';

export class UsageError extends PorticoError {
  readonly code = 'PORTICO_USAGE';
  override readonly exitCode = 2;
}
