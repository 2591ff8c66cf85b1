// The one base of Portico's errors: a stable `code` (logs, metrics, heartbeats and tests key on it; never rename
// one) and the exit status a command ends with when the error stops it. It lives in the contract because codes
// cross processes (a worker's refusal code is read by inspection from its heartbeat).
export abstract class PorticoError extends Error {
  abstract readonly code: string;
  /** Exit status of a command this error ends: 1 unless a subclass says otherwise (2 for usage errors). */
  readonly exitCode: number = 1;
}
