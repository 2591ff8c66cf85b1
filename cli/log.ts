// One JSON object per line on stderr: what an operator's log pipeline can parse without guessing.
export type Level = 'info' | 'warn' | 'error';

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), level, msg, pid: process.pid, ...fields })}\n`);
}
