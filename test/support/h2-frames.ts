// Hand-written HTTP/2 frames (RFC 9113 §4, §6) on a TLS socket negotiated for h2, for the tests and the probe
// that must send what a well-behaved client library would not: HEADERS and RST_STREAM in one packet, DATA
// longer than content-length, thousands of streams in one write. Header blocks are HPACK literals without
// indexing and without Huffman coding (RFC 7541 §6.2.2), which every decoder accepts.
import tls from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
export const ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, n: number, first: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2). */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    parts.push(Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v);
  }
  return Buffer.concat(parts);
}

export function headers(stream: number, fields: readonly (readonly [string, string])[], endStream: boolean): Buffer {
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), stream, headerBlock(fields));
}

export function data(stream: number, body: Buffer, endStream: boolean): Buffer {
  return frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, body);
}

export function rstStream(stream: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, p);
}

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** A raw HTTP/2 connection: what it sent is up to the caller, what it received is parsed into frames. */
export interface RawH2 {
  socket: tls.TLSSocket;
  frames: Frame[];
  /** The server's SETTINGS (identifier → value), once received. */
  settings: Map<number, number>;
  write(b: Buffer): void;
  /** Resolves when a frame matching `pred` arrived (or already had), or the connection closed (null). */
  waitFor(pred: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame | null>;
  closed: Promise<void>;
  close(): void;
}

export async function connectRawH2(port: number, servername = 'h2.test', host = '127.0.0.1'): Promise<RawH2> {
  const socket = tls.connect({ host, port, servername, ALPNProtocols: ['h2'], rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${String(socket.alpnProtocol)}, not h2`);
  const frames: Frame[] = [];
  const settings = new Map<number, number>();
  const waiters = new Set<() => void>();
  let buf = Buffer.alloc(0);
  let ended = false;
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const f = { type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) };
      buf = buf.subarray(9 + len);
      frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) {
        for (let i = 0; i + 6 <= f.payload.length; i += 6) settings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
        if (!socket.destroyed) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      }
    }
    for (const w of waiters) w();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      ended = true;
      for (const w of waiters) w();
      resolve();
    }),
  );
  // A large connection window so that the server's DATA never stalls on flow control.
  const wu = Buffer.alloc(4);
  wu.writeUInt32BE(1 << 30);
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0), frame(FRAME.WINDOW_UPDATE, 0, 0, wu)]));
  return {
    socket,
    frames,
    settings,
    write: (b) => {
      if (!socket.destroyed) socket.write(b);
    },
    waitFor(pred, timeoutMs = 5_000) {
      return new Promise((resolve) => {
        const check = (): void => {
          const f = frames.find(pred);
          if (f !== undefined || ended) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(f ?? null);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          resolve(null);
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    closed,
    close: () => socket.destroy(),
  };
}

/** The error code of a RST_STREAM or GOAWAY frame. */
export function errorCode(f: Frame): number {
  return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}

/** SETTINGS_MAX_CONCURRENT_STREAMS (RFC 9113 §6.5.2). */
export const SETTINGS_MAX_CONCURRENT_STREAMS = 3;
