// PROXY protocol headers as a load balancer writes them (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt),
// and a real load balancer on loopback: a TCP relay that writes a header naming a client of the test's choice
// in front of what its client sends, from an outgoing address of the test's choice (trusted or not).
import net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { ProxyEndpoint } from '../../gateway/access/proxy-protocol.ts';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** A v1 line for two endpoints of one family, or `PROXY UNKNOWN`. */
export function proxyV1(o: { source: ProxyEndpoint; destination: ProxyEndpoint } | 'unknown'): Buffer {
  if (o === 'unknown') return Buffer.from('PROXY UNKNOWN\r\n');
  const family = o.source.address.includes(':') ? 'TCP6' : 'TCP4';
  return Buffer.from(`PROXY ${family} ${o.source.address} ${o.destination.address} ${o.source.port} ${o.destination.port}\r\n`);
}

export interface V2Options {
  command?: 'proxy' | 'local';
  /** The family/transport byte; default from the addresses (0x11 TCP over IPv4, 0x21 over IPv6), else 0x00. */
  family?: number;
  source?: ProxyEndpoint;
  destination?: ProxyEndpoint;
  /** The address block as given, instead of one built from source and destination. */
  raw?: Buffer;
  /** Bytes of TLVs (one NOOP TLV, type 0x04) after the addresses; at least 3. */
  tlvs?: number;
}

/** A v2 header; `length` overrides the length field (to claim more than follows). */
export function proxyV2(o: V2Options, length?: number): Buffer {
  const v6 = o.source?.address.includes(':') === true;
  let block = o.raw ?? Buffer.alloc(0);
  if (o.raw === undefined && o.source !== undefined && o.destination !== undefined) {
    const addr = (a: string): number[] => ipaddr.parse(a).toByteArray();
    const ports = Buffer.alloc(4);
    ports.writeUInt16BE(o.source.port, 0);
    ports.writeUInt16BE(o.destination.port, 2);
    block = Buffer.concat([Buffer.from(addr(o.source.address)), Buffer.from(addr(o.destination.address)), ports]);
  }
  if (o.tlvs !== undefined) {
    const tlv = Buffer.alloc(o.tlvs);
    tlv[0] = 0x04;
    tlv.writeUInt16BE(o.tlvs - 3, 1);
    block = Buffer.concat([block, tlv]);
  }
  const family = o.family ?? (o.source === undefined ? 0x00 : v6 ? 0x21 : 0x11);
  const fixed = Buffer.alloc(4);
  fixed[0] = o.command === 'local' ? 0x20 : 0x21;
  fixed[1] = family;
  fixed.writeUInt16BE(length ?? block.length, 2);
  return Buffer.concat([SIGNATURE, fixed, block]);
}

export interface ProxyLb {
  /** The address clients connect to. */
  port: number;
  close(): Promise<void>;
}

/** A load balancer in front of `target`: per client connection it waits for the client's first bytes, then
 * connects to `target` from `localAddress` and writes the header and those bytes in one write (one TCP
 * segment on loopback, as AWS NLB sends them), then relays both ways. */
export async function startProxyLb(o: { target: number; localAddress: string; header: Buffer }): Promise<ProxyLb> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.once('data', (first: Buffer) => {
      client.pause();
      const up = net.connect({ host: '127.0.0.1', port: o.target, localAddress: o.localAddress }, () => {
        up.write(Buffer.concat([o.header, first]));
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      sockets.add(up);
      up.on('close', () => {
        sockets.delete(up);
        client.destroy();
      });
      up.on('error', () => up.destroy());
      client.on('close', () => up.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
