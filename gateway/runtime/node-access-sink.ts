// Where a Node worker writes its access log: pino over an asynchronous destination (sonic-boom with sync: false),
// so the request path hands a line to a buffer and never waits for the write (pino's documentation, "Asynchronous
// logging"). The line is the entry and `"log":"access"` (pino's level slot: it tells access lines from the process's
// own log lines when both go to one stream); no pid or hostname.
import pino from 'pino';
import type { AccessEntry, AccessLogSink } from '../access-log.ts';

export type AccessLogTarget = 'stdout' | 'stderr' | { path: string };

/** Lines are written in batches of at least this many bytes, and at least every FLUSH_MS: nginx's `access_log ...
 * buffer=4k flush=1s`. One write per line would cost a write(2) per request on the proxy's core. */
const BUFFER_BYTES = 4096;
const FLUSH_MS = 1_000;

export function pinoAccessSink(target: AccessLogTarget): AccessLogSink {
  const dest = pino.destination({
    dest: target === 'stdout' ? 1 : target === 'stderr' ? 2 : target.path,
    sync: false,
    mkdir: true,
    minLength: BUFFER_BYTES,
  });
  const timer = setInterval(() => {
    try {
      if ((dest as unknown as { fd: number }).fd >= 0) dest.flush();
    } catch {
      // not open yet, or closed: the next tick or the shutdown flush writes it
    }
  }, FLUSH_MS);
  timer.unref();
  const logger = pino(
    {
      base: null, // no pid, no hostname
      timestamp: false, // the entry has its own `time`
      formatters: { level: () => ({ log: 'access' }) },
    },
    dest,
  );
  return {
    write: (e: AccessEntry) => logger.info(e),
    flush: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        // flush() writes what is buffered; a destination still opening its file has nothing to write yet.
        logger.flush(() => resolve());
      }),
  };
}
