// Sends exact bytes on a fresh TCP connection and reads the answer: the status, the header fields (lower-case names,
// in order) and the body. Reads until the server closes, the declared body is complete, or a 101 head arrives.
import net from 'node:net';

export interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: string;
  /** The value of the first `name` field (lower-case), or undefined. */
  header(name: string): string | undefined;
}

export function rawExchange(
  port: number,
  bytes: string | Buffer,
  o: { localAddress?: string; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }) });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) {
        settled = true;
        socket.destroy();
        return reject(new Error(`no complete answer: ${JSON.stringify(text.slice(0, 200))}`));
      }
      const lines = text.slice(0, end).split('\r\n');
      const headers = lines
        .slice(1)
        .map((l): [string, string] => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
      settled = true;
      socket.destroy();
      resolve({
        status: Number(lines[0]!.split(' ')[1]),
        headers,
        body: text.slice(end + 4),
        header: (name) => headers.find(([k]) => k === name)?.[1],
      });
    };
    const complete = (): boolean => {
      const text = buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end === -1) return false;
      if (/^HTTP\/1\.1 101 /.test(text)) return true;
      const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end + 2));
      return len !== null && buf.length - (end + 4) >= Number(len[1]);
    };
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (complete()) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => finish());
    socket.setTimeout(o.timeoutMs ?? 5_000, finish);
    socket.write(bytes);
  });
}
