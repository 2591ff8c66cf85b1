// How parts log: they take a function of this shape and never write to stderr themselves, so the command that
// wires them decides the format (cli/log.ts: one JSON object per line) and tests can collect the lines.
export type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
