// TLS ClientHello bytes for tests: built field by field (RFC 8446 §4.1.2, RFC 6066 §3) so a case can break exactly
// one rule, and captured from a real node:tls client (what a client on the wire sends).
import net from 'node:net';
import tls from 'node:tls';

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

/** A server_name extension's data: one entry per name (several is what RFC 6066 forbids). */
export function serverNameExtension(names: readonly string[], nameType = 0): number[] {
  const entries = names.flatMap((n) => [nameType, ...u16(n.length), ...Buffer.from(n, 'latin1')]);
  return [...u16(entries.length), ...entries];
}

export interface HelloSpec {
  /** host_name entries of the server_name extension; null: no such extension. Default: one, "a.test". */
  serverNames?: readonly string[] | null;
  /** More extensions, after server_name: [type, data]. */
  extensions?: readonly (readonly [number, readonly number[]])[];
  /** Leave the extensions block out altogether (a TLS 1.2-or-older hello). */
  noExtensions?: boolean;
  sessionIdLength?: number;
  /** Bytes appended to the handshake message's body (after the extensions). */
  trailing?: readonly number[];
}

/** The ClientHello handshake message (type, 24-bit length, body). */
export function clientHelloMessage(s: HelloSpec = {}): Buffer {
  const names = s.serverNames === undefined ? ['a.test'] : s.serverNames;
  const exts: (readonly [number, readonly number[]])[] = [];
  if (names !== null) exts.push([0, serverNameExtension(names)]);
  exts.push(...(s.extensions ?? []));
  const extBytes = exts.flatMap(([t, d]) => [...u16(t), ...u16(d.length), ...d]);
  const sid = s.sessionIdLength ?? 32;
  const body = [
    0x03,
    0x03, // legacy_version TLS 1.2
    ...new Array<number>(32).fill(7), // random
    sid,
    ...new Array<number>(sid).fill(1),
    ...u16(4),
    0x13,
    0x01,
    0x13,
    0x02, // two cipher suites
    1,
    0, // compression: null
    ...(s.noExtensions === true ? [] : [...u16(extBytes.length), ...extBytes]),
    ...(s.trailing ?? []),
  ];
  return Buffer.from([1, ...u24(body.length), ...body]);
}

/** The message in handshake records of at most `sizes[i]` bytes each (the last size repeats). */
export function records(message: Buffer, sizes: readonly number[] = [16_384]): Buffer {
  const out: number[] = [];
  let at = 0;
  let i = 0;
  while (at < message.length) {
    const n = Math.min(sizes[Math.min(i, sizes.length - 1)]!, message.length - at);
    out.push(22, 3, 1, ...u16(n), ...message.subarray(at, at + n));
    at += n;
    i++;
  }
  return Buffer.from(out);
}

/** What node:tls sends first when connecting with `servername` (undefined: no SNI, as for an IP address). */
export async function capturedClientHello(servername: string | undefined): Promise<Buffer> {
  const server = net.createServer();
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const c = tls.connect({ host: '127.0.0.1', port, ...(servername === undefined ? {} : { servername }), rejectUnauthorized: false });
  c.on('error', () => {});
  const bytes = await got;
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  return bytes;
}
