// A TCP forwarder on loopback that a test can hold (bytes from clients stay unread, so a request already written
// is delayed, not lost) and cut (every connection destroyed, new ones refused): a network partition between one
// process and a server, without touching the server.
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Stops reading from clients: what they send waits in the socket buffers until release(). */
  hold(): void;
  release(): void;
  /** Destroys every connection and stops listening: connecting is refused from now on. */
  cut(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const clients = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();
  let held = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    clients.add(client);
    upstreams.add(upstream);
    if (held) client.pause();
    // Plain data handlers rather than pipe(): pipe() resumes a paused source on 'drain', which would undo hold().
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
      clients.delete(client);
      upstreams.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    hold() {
      held = true;
      for (const c of clients) c.pause();
    },
    release() {
      held = false;
      for (const c of clients) c.resume();
    },
    async cut() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of [...clients, ...upstreams]) s.destroy();
      await closed;
    },
  };
}
