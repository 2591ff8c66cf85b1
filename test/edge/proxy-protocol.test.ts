// parseProxyHeader(): the PROXY protocol v1 and v2 header as the spec defines it
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt, §2.1 text, §2.2 binary), with Portico's limits:
// v1 at most 107 bytes, v2 at most PROXY_V2_MAX_PAYLOAD bytes after its fixed 16, strict address text.
import { describe, expect, it } from 'vitest';
import { type ProxyHeader, PROXY_V2_MAX_PAYLOAD, parseProxyHeader } from '../../gateway/access/proxy-protocol.ts';
import { proxyV1, proxyV2 } from '../support/proxy-protocol.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const REQUEST = bytes('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n');

type Expect = { header: ProxyHeader } | { more: true } | { invalid: RegExp };

const cases: { name: string; input: Buffer; expect: Expect }[] = [
  {
    name: 'v1 TCP4',
    input: bytes('PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n'),
    expect: {
      header: { version: 1, length: 44, source: { address: '203.0.113.7', port: 56324 }, destination: { address: '192.0.2.1', port: 443 } },
    },
  },
  {
    name: 'v1 TCP6, addresses in canonical form',
    input: bytes('PROXY TCP6 2001:DB8:0:0::1 2001:db8::2 1000 80\r\n'),
    expect: {
      header: { version: 1, length: 48, source: { address: '2001:db8::1', port: 1000 }, destination: { address: '2001:db8::2', port: 80 } },
    },
  },
  {
    name: 'v1 TCP6 with an IPv4-mapped source: its IPv4 address (as source ranges compare it)',
    input: bytes('PROXY TCP6 ::ffff:198.51.100.9 ::1 1 2\r\n'),
    expect: { header: { version: 1, length: 40, source: { address: '198.51.100.9', port: 1 }, destination: { address: '::1', port: 2 } } },
  },
  {
    name: 'v1 UNKNOWN: no client named, the TCP peer stands for it',
    input: bytes('PROXY UNKNOWN\r\n'),
    expect: { header: { version: 1, length: 15, source: null, destination: null } },
  },
  {
    name: 'v1 UNKNOWN ignores what follows up to CRLF',
    input: bytes('PROXY UNKNOWN 1.1.1.1 2.2.2.2 1 2\r\n'),
    expect: { header: { version: 1, length: 35, source: null, destination: null } },
  },
  {
    name: 'v1 of the longest allowed length (107 bytes)',
    input: bytes(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`),
    expect: { header: { version: 1, length: 107, source: null, destination: null } },
  },
  {
    name: 'v1 one byte over 107 is refused',
    input: bytes(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 655350\r\n`),
    expect: { invalid: /longer than 107/ },
  },
  {
    name: 'v1 without CRLF within 107 bytes is refused without waiting for more',
    input: bytes(`PROXY TCP4 ${'1'.repeat(120)}`),
    expect: { invalid: /longer than 107/ },
  },
  { name: 'v1 truncated: waits for the rest', input: bytes('PROXY TCP4 203.0.113.7 192.0.2.1 5632'), expect: { more: true } },
  { name: 'v1 truncated between CR and LF', input: bytes('PROXY UNKNOWN\r'), expect: { more: true } },
  { name: 'v1 truncated inside the signature', input: bytes('PRO'), expect: { more: true } },
  { name: 'nothing yet', input: Buffer.alloc(0), expect: { more: true } },
  { name: 'v1 CR without LF', input: bytes('PROXY UNKNOWN\rX'), expect: { invalid: /CR not followed by LF/ } },
  { name: 'v1 LF alone does not end the line', input: bytes('PROXY UNKNOWN\n'), expect: { invalid: /printable/ } },
  { name: 'v1 lower case signature', input: bytes('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), expect: { invalid: /does not start/ } },
  { name: 'v1 unknown protocol', input: bytes('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), expect: { invalid: /TCP4, TCP6 or UNKNOWN/ } },
  { name: 'v1 double space', input: bytes('PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n'), expect: { invalid: /single spaces/ } },
  { name: 'v1 missing port', input: bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), expect: { invalid: /single spaces/ } },
  { name: 'v1 short IPv4 (1.2.3)', input: bytes('PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  { name: 'v1 IPv4 octet over 255', input: bytes('PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  { name: 'v1 IPv4 with a leading zero', input: bytes('PROXY TCP4 010.0.0.1 5.6.7.8 1 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  { name: 'v1 IPv6 address under TCP4', input: bytes('PROXY TCP4 ::1 5.6.7.8 1 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  { name: 'v1 IPv4 address under TCP6', input: bytes('PROXY TCP6 1.2.3.4 ::1 1 2\r\n'), expect: { invalid: /not valid TCP6/ } },
  { name: 'v1 port over 65535', input: bytes('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  { name: 'v1 port with a leading zero', input: bytes('PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n'), expect: { invalid: /not valid TCP4/ } },
  {
    name: 'v2 PROXY over IPv4',
    input: proxyV2({ source: { address: '203.0.113.7', port: 56324 }, destination: { address: '192.0.2.1', port: 443 } }),
    expect: {
      header: { version: 2, length: 28, source: { address: '203.0.113.7', port: 56324 }, destination: { address: '192.0.2.1', port: 443 } },
    },
  },
  {
    name: 'v2 PROXY over IPv6',
    input: proxyV2({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '2001:db8::1', port: 80 } }),
    expect: {
      header: { version: 2, length: 52, source: { address: '2001:db8::7', port: 1 }, destination: { address: '2001:db8::1', port: 80 } },
    },
  },
  {
    name: 'v2 TLVs after the addresses are skipped (the length covers them)',
    input: proxyV2({ source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 2 }, tlvs: 100 }),
    expect: {
      header: { version: 2, length: 128, source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 2 } },
    },
  },
  {
    name: 'v2 LOCAL (a health check of the proxy): the TCP peer, the address block discarded',
    input: proxyV2({ command: 'local', source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 2 } }),
    expect: { header: { version: 2, length: 28, source: null, destination: null } },
  },
  {
    name: 'v2 LOCAL without addresses',
    input: proxyV2({ command: 'local' }),
    expect: { header: { version: 2, length: 16, source: null, destination: null } },
  },
  {
    name: 'v2 AF_UNSPEC: the TCP peer',
    input: proxyV2({ family: 0x00 }),
    expect: { header: { version: 2, length: 16, source: null, destination: null } },
  },
  {
    name: 'v2 AF_UNIX: the TCP peer',
    input: proxyV2({ family: 0x31, raw: Buffer.alloc(216) }),
    expect: { header: { version: 2, length: 232, source: null, destination: null } },
  },
  {
    name: 'v2 truncated in the address block: waits for the rest',
    input: proxyV2({ source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 2 } }).subarray(0, 20),
    expect: { more: true },
  },
  { name: 'v2 truncated in the signature', input: proxyV2({ command: 'local' }).subarray(0, 7), expect: { more: true } },
  {
    name: 'v2 longer than the limit is refused from its length field alone',
    input: proxyV2({ command: 'local' }, PROXY_V2_MAX_PAYLOAD + 1).subarray(0, 16),
    expect: { invalid: /at most 2048/ },
  },
  {
    name: 'v2 at the limit is taken',
    input: proxyV2({ command: 'local', raw: Buffer.alloc(PROXY_V2_MAX_PAYLOAD) }),
    expect: { header: { version: 2, length: 16 + PROXY_V2_MAX_PAYLOAD, source: null, destination: null } },
  },
  {
    name: 'v2 signature with one byte changed',
    input: Buffer.from(proxyV2({ command: 'local' }).map((b: number, i: number) => (i === 11 ? 0x0b : b))),
    expect: { invalid: /does not start/ },
  },
  {
    name: 'v2 version nibble other than 2',
    input: Buffer.from(proxyV2({ command: 'local' }).map((b: number, i: number) => (i === 12 ? 0x10 : b))),
    expect: { invalid: /version is not 2/ },
  },
  {
    name: 'v2 unknown command',
    input: Buffer.from(proxyV2({ command: 'local' }).map((b: number, i: number) => (i === 12 ? 0x22 : b))),
    expect: { invalid: /neither LOCAL nor PROXY/ },
  },
  { name: 'v2 DGRAM on a TCP listener', input: proxyV2({ family: 0x12, raw: Buffer.alloc(12) }), expect: { invalid: /not STREAM/ } },
  { name: 'v2 unknown family', input: proxyV2({ family: 0x41, raw: Buffer.alloc(12) }), expect: { invalid: /unknown address family/ } },
  {
    name: 'v2 AF_INET with a short address block',
    input: proxyV2({ family: 0x11, raw: Buffer.alloc(11) }),
    expect: { invalid: /truncated/ },
  },
  {
    name: 'v2 AF_INET6 with a short address block',
    input: proxyV2({ family: 0x21, raw: Buffer.alloc(35) }),
    expect: { invalid: /AF_INET6 addresses truncated/ },
  },
  { name: 'an HTTP request without a header', input: REQUEST, expect: { invalid: /does not start/ } },
  { name: 'a TLS ClientHello without a header', input: Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), expect: { invalid: /does not start/ } },
];

describe('parseProxyHeader', () => {
  for (const c of cases)
    it(c.name, () => {
      const r = parseProxyHeader(c.input);
      if ('header' in c.expect) expect(r).toEqual({ kind: 'header', header: c.expect.header });
      else if ('more' in c.expect) expect(r).toEqual({ kind: 'more' });
      else {
        expect(r.kind).toBe('invalid');
        if (r.kind === 'invalid') {
          expect(r.error.code).toBe('PORTICO_PROXY_HEADER');
          expect(r.error.message).toMatch(c.expect.invalid);
        }
      }
    });
});

describe('a header split across several TCP packets, and one followed at once by the request', () => {
  const headers: [string, Buffer][] = [
    ['v1', proxyV1({ source: { address: '203.0.113.7', port: 1 }, destination: { address: '192.0.2.1', port: 80 } })],
    ['v2', proxyV2({ source: { address: '2001:db8::7', port: 1 }, destination: { address: '2001:db8::1', port: 80 }, tlvs: 9 })],
  ];
  for (const [name, h] of headers) {
    it(`${name}: every shorter prefix waits for more, the whole header is taken`, () => {
      for (let n = 0; n < h.length; n++) expect(parseProxyHeader(h.subarray(0, n)).kind, `${n} bytes`).toBe('more');
      expect(parseProxyHeader(h)).toMatchObject({ kind: 'header', header: { length: h.length, source: { address: /^203|^2001/ } } });
    });
    it(`${name}: with the request in the same packet, the header's length is where the request starts`, () => {
      const r = parseProxyHeader(Buffer.concat([h, REQUEST]));
      if (r.kind !== 'header') throw new Error(`expected a header, got ${r.kind}`);
      expect(Buffer.concat([h, REQUEST]).subarray(r.header.length).equals(REQUEST)).toBe(true);
    });
  }
});
