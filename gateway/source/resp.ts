// A minimal Redis (RESP2) client over any byte-stream socket: workerd's `cloudflare:sockets` connect()
// and Deno.connect() both hand out { readable, writable }. Enough for a worker that reads the table:
// commands in, replies out (pipelined when asked), bulk strings kept as bytes. No pub/sub, no reconnect:
// resp-transport.ts opens a socket per session and closes it.
import { PorticoError } from '../table/portico-error.ts';

export interface ByteSocket {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  close(): Promise<void> | void;
}

export type RespValue = string | number | Uint8Array | null | RespValue[];

export class RespError extends PorticoError {
  readonly code = 'PORTICO_REDIS_REPLY';
}

/** The connection failed, closed mid-reply, or sent something that is not RESP2. */
export class RespProtocolError extends PorticoError {
  readonly code = 'PORTICO_REDIS_PROTOCOL';
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const CRLF = enc.encode('\r\n');

function encodeCommand(args: readonly (string | number)[]): Uint8Array {
  const parts: Uint8Array[] = [enc.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = enc.encode(String(a));
    parts.push(enc.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(parts);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Parses one reply from `buf` at `at`; null when more bytes are needed. */
function parse(buf: Uint8Array, at: number): { value: RespValue | RespError; next: number } | null {
  if (at >= buf.length) return null;
  let eol = -1;
  for (let i = at + 1; i + 1 < buf.length; i++)
    if (buf[i] === 13 && buf[i + 1] === 10) {
      eol = i;
      break;
    }
  if (eol === -1) return null;
  const line = dec.decode(buf.subarray(at + 1, eol));
  const next = eol + 2;
  switch (buf[at]) {
    case 43:
      return { value: line, next }; // +
    case 45:
      return { value: new RespError(line), next }; // -
    case 58:
      return { value: Number(line), next }; // :
    case 36: {
      // $
      const len = Number(line);
      if (len < 0) return { value: null, next };
      if (next + len + 2 > buf.length) return null;
      return { value: buf.slice(next, next + len), next: next + len + 2 };
    }
    case 42: {
      // *
      const n = Number(line);
      if (n < 0) return { value: null, next };
      const items: RespValue[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, p);
        if (r === null) return null;
        if (r.value instanceof RespError) throw r.value;
        items.push(r.value);
        p = r.next;
      }
      return { value: items, next: p };
    }
    default:
      throw new RespProtocolError(`not a RESP2 reply (first byte ${buf[at]})`);
  }
}

export class RespClient {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private buf = new Uint8Array(0);

  constructor(private readonly socket: ByteSocket) {
    this.reader = socket.readable.getReader();
    this.writer = socket.writable.getWriter();
  }

  async command(...args: (string | number)[]): Promise<RespValue> {
    const [r] = await this.pipeline([args]);
    return r!;
  }

  /** Sends all commands in one write and reads their replies in order; an error reply throws RespError. */
  async pipeline(commands: readonly (readonly (string | number)[])[]): Promise<RespValue[]> {
    await this.writer.write(concat(commands.map(encodeCommand)));
    const replies: RespValue[] = [];
    while (replies.length < commands.length) {
      const r = parse(this.buf, 0);
      if (r === null) {
        await this.fill();
        continue;
      }
      this.buf = this.buf.subarray(r.next);
      if (r.value instanceof RespError) throw r.value;
      replies.push(r.value);
    }
    return replies;
  }

  private async fill(): Promise<void> {
    const { value, done } = await this.reader.read();
    if (done || value === undefined) throw new RespProtocolError('redis closed the connection mid-reply');
    const merged = new Uint8Array(this.buf.length + value.length);
    merged.set(this.buf);
    merged.set(value, this.buf.length);
    this.buf = merged;
  }

  /** Closes the socket even while a read is pending (a timed-out command), which releasing the locks
   * first could refuse to do. */
  async close(): Promise<void> {
    try {
      await this.socket.close();
    } finally {
      this.reader.cancel().catch(() => {});
      this.writer.abort().catch(() => {});
    }
  }
}

export const asText = (v: RespValue): string | null => (v instanceof Uint8Array ? dec.decode(v) : typeof v === 'string' ? v : null);
