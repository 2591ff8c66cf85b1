// Where a Node worker writes its access log: pino's asynchronous destination (sonic-boom with sync: false), so the
// request path hands a line to a buffer and never waits for the write (pino's documentation, "Asynchronous
// logging"). The line is the entry and `"log":"access"` (the slot of pino's level: it tells access lines from the
// process's own log lines when both go to one stream); no pid or hostname, as pino with `base: null` wrote it.
import pino from 'pino';
import type { AccessEntry, AccessLogSink } from '../access-log.ts';

export type AccessLogTarget = 'stdout' | 'stderr' | { path: string };

/** Lines are written in batches of at least this many bytes, and at least every FLUSH_MS: nginx's `access_log ...
 * buffer=64k flush=1s`. Each write costs the proxy's core a hand-off to libuv's thread pool and the file system's
 * write path; measured by CPU profile of `portico local` under wrk on one core (bench/RESULTS.md, "Access log
 * batches"): write(2) calls were 7.5 % of busy CPU with 4 KiB batches, 3.8 % with 32 KiB, 0.8 % with 64 KiB. The batch
 * is joined here and handed to sonic-boom whole: sonic-boom appends each write to its last buffer and measures that
 * buffer's byte length on every write (index.js write()), which cost up to 16 KiB of scanning per line. */
const BUFFER_BYTES = 64 * 1024;
const FLUSH_MS = 1_000;
/** What sonic-boom may hold while its destination does not take writes (a stalled pipe reader): past it lines are
 * dropped, not kept until the process runs out of memory. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

export function pinoAccessSink(target: AccessLogTarget): AccessLogSink {
  const dest = pino.destination({
    dest: target === 'stdout' ? 1 : target === 'stderr' ? 2 : target.path,
    sync: false,
    mkdir: true,
    maxLength: MAX_PENDING_BYTES,
  });
  let batch: string[] = [];
  let batched = 0;
  const hand = (): void => {
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    batched = 0;
    dest.write(text);
  };
  const timer = setInterval(hand, FLUSH_MS);
  timer.unref();
  return {
    // The line is built here rather than by pino's logger (one template over the fixed fields, the strings through
    // JSON.stringify): the same JSON, in about half of the logger's time per request (bench/RESULTS.md).
    write: (e: AccessEntry) => {
      const line = accessLine(e);
      batch.push(line);
      batched += line.length; // UTF-16 units: close enough to bytes for a batch size
      if (batched >= BUFFER_BYTES) hand();
    },
    flush: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        hand();
        // flush() writes what is buffered; a destination still opening its file has nothing to write yet.
        dest.flush(() => resolve());
      }),
  };
}

const str = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));
const num = (v: number | null): string => (v !== null && Number.isFinite(v) ? String(v) : 'null');

/** One access line: the entry as JSON after `"log":"access"` (which tells access lines from the process's own log
 * lines when both go to one stream), newline-terminated. */
export function accessLine(e: AccessEntry): string {
  return `{"log":"access","time":${str(e.time)},"client":${str(e.client)},"method":${str(e.method)},"host":${str(e.host)},"path":${str(
    e.path,
  )},"protocol":${str(e.protocol)},"status":${num(e.status)},"bytesIn":${num(e.bytesIn)},"bytesOut":${num(e.bytesOut)},"durationMs":${num(
    e.durationMs,
  )},"upstream":${str(e.upstream)},"upstreamStatus":${num(e.upstreamStatus)},"upstreamMs":${num(e.upstreamMs)},"route":${str(
    e.route,
  )},"requestId":${str(e.requestId)},"tls":${str(e.tls)},"sni":${str(e.sni)}}\n`;
}
