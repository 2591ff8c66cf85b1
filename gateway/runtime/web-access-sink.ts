// Where the Deno worker writes its access log: lines joined into batches, as the Node worker's sink does
// (node-access-sink.ts, 64 KiB there; here nginx's `access_log ... buffer=4k flush=1s`, each batch written with
// writeSync on the event loop). console.log writes each line with its own
// write(2) on the request path; one write per 4 KiB costs the proxy's core a small part of that (bench/RESULTS.md).
// Not for workerd: a timer there belongs to the request that set it, and its console is the platform's log.

/** A batch is written once it holds this many characters (UTF-16 units: close enough to bytes for a batch size)... */
export const BATCH_CHARS = 4096;
/** ...or this long after its first line, whichever comes first. */
export const FLUSH_MS = 1_000;

export interface LineBatcher {
  write(line: string): void;
  /** Writes what is batched now (shutdown). */
  flush(): void;
}

/** `out` gets whole batches of newline-terminated lines; `unref` lets the flush timer not hold the process open. */
export function lineBatcher(out: (text: string) => void, unref: (timer: ReturnType<typeof setTimeout>) => void = () => {}): LineBatcher {
  let batch: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const text = batch.join('');
    batch = [];
    size = 0;
    out(text);
  };
  return {
    write(line) {
      batch.push(`${line}\n`);
      size += line.length + 1;
      if (size >= BATCH_CHARS) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, FLUSH_MS);
        unref(timer);
      }
    },
    flush,
  };
}
