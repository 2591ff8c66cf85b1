// parseClientHello(): the server name of a TLS ClientHello read before TLS is terminated (ssl-passthrough), by the
// rules of RFC 8446 §5.1 (records), §4.1.2 (ClientHello), §4.2 (one extension of a type) and RFC 6066 §3 (one
// host_name), with Portico's limits: a message of at most CLIENT_HELLO_MAX bytes, reassembled across records.
import { describe, expect, it } from 'vitest';
import { CLIENT_HELLO_MAX, parseClientHello } from '../../gateway/tls/client-hello.ts';
import { capturedClientHello, clientHelloMessage, records, serverNameExtension } from '../support/client-hello.ts';

type Expect = { serverName: string | null } | { more: true } | { invalid: 'malformed' | 'too-large'; why: RegExp };

const hello = clientHelloMessage();
const full = records(hello);
/** A padding extension (RFC 7685, type 21) of `n` bytes. */
const padding = (n: number) => [21, new Array<number>(n).fill(0)] as const;

const cases: { name: string; input: Buffer; expect: Expect }[] = [
  { name: 'one record, one host_name', input: full, expect: { serverName: 'a.test' } },
  {
    name: 'the name as sent (case kept; the listener lower-cases it to look the host up)',
    input: records(clientHelloMessage({ serverNames: ['Foo.Example.COM'] })),
    expect: { serverName: 'Foo.Example.COM' },
  },
  { name: 'no server_name extension: no SNI', input: records(clientHelloMessage({ serverNames: null })), expect: { serverName: null } },
  {
    name: 'no extensions block at all (TLS 1.2-or-older hello): no SNI',
    input: records(clientHelloMessage({ serverNames: null, noExtensions: true })),
    expect: { serverName: null },
  },
  {
    name: 'server_name after other extensions',
    input: records(clientHelloMessage({ serverNames: null, extensions: [padding(10), [0, serverNameExtension(['b.test'])]] })),
    expect: { serverName: 'b.test' },
  },
  { name: 'fragmented: the message in 7-byte records', input: records(hello, [7]), expect: { serverName: 'a.test' } },
  { name: 'fragmented: the header split from the body', input: records(hello, [2, 16_384]), expect: { serverName: 'a.test' } },
  {
    name: 'coalesced: bytes after the ClientHello (early data) are left alone',
    input: Buffer.concat([full, Buffer.from([23, 3, 3, 0, 1, 0])]),
    expect: { serverName: 'a.test' },
  },
  {
    name: 'a ClientHello of exactly CLIENT_HELLO_MAX bytes over two records',
    input: records(clientHelloMessage({ extensions: [padding(CLIENT_HELLO_MAX - hello.length - 4)] }), [16_000]),
    expect: { serverName: 'a.test' },
  },
  { name: 'truncated inside the record header: waits', input: full.subarray(0, 3), expect: { more: true } },
  { name: 'truncated inside the first record: waits', input: full.subarray(0, 40), expect: { more: true } },
  { name: 'truncated between two records: waits', input: records(hello, [20]).subarray(0, 25), expect: { more: true } },
  { name: 'nothing yet: waits', input: Buffer.alloc(0), expect: { more: true } },
  {
    name: 'plain HTTP on the TLS port',
    input: Buffer.from('GET / HTTP/1.1\r\n'),
    expect: { invalid: 'malformed', why: /not a handshake record \(content type 71\)/ },
  },
  { name: 'refused at the first byte, without waiting', input: Buffer.from('G'), expect: { invalid: 'malformed', why: /content type 71/ } },
  {
    name: 'an SSL 2.0-style hello',
    input: Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01]),
    expect: { invalid: 'malformed', why: /not a handshake record/ },
  },
  {
    name: 'a record version that is not 3.x',
    input: Buffer.from([22, 2, 0, 0, 4, 1, 0, 0, 0]),
    expect: { invalid: 'malformed', why: /not TLS/ },
  },
  {
    name: 'a handshake message that is not a ClientHello (a ServerHello), seen in a partial record',
    input: Buffer.from([22, 3, 1, 0, 50, 2, 0]),
    expect: { invalid: 'malformed', why: /not a ClientHello/ },
  },
  {
    name: 'an empty handshake record',
    input: Buffer.from([22, 3, 1, 0, 0]),
    expect: { invalid: 'malformed', why: /zero-length/ },
  },
  {
    name: 'a record over 2^14 bytes',
    input: Buffer.from([22, 3, 1, 0x40, 0x01]),
    expect: { invalid: 'malformed', why: /over the 2\^14/ },
  },
  {
    name: 'oversize: a ClientHello announced over CLIENT_HELLO_MAX is refused from its header',
    input: Buffer.from([22, 3, 1, 0, 4, 1, 0, 0x40, 0x00]),
    expect: { invalid: 'too-large', why: /over 16384/ },
  },
  {
    name: 'oversize: one byte over CLIENT_HELLO_MAX',
    input: records(clientHelloMessage({ extensions: [padding(CLIENT_HELLO_MAX - hello.length - 3)] }), [16_000]),
    expect: { invalid: 'too-large', why: /over 16384/ },
  },
  {
    name: 'oversize: too many bytes of tiny records before the message ends',
    input: records(clientHelloMessage({ extensions: [padding(CLIENT_HELLO_MAX - hello.length - 4)] }), [1]),
    expect: { invalid: 'too-large', why: /before the ClientHello ends/ },
  },
  {
    name: 'multiple server names (RFC 6066: at most one host_name)',
    input: records(clientHelloMessage({ serverNames: ['a.test', 'b.test'] })),
    expect: { invalid: 'malformed', why: /more than one server name/ },
  },
  {
    name: 'a server name of another type than host_name',
    input: records(clientHelloMessage({ serverNames: null, extensions: [[0, serverNameExtension(['a.test'], 1)]] })),
    expect: { invalid: 'malformed', why: /type 1, not host_name/ },
  },
  {
    name: 'an empty host_name',
    input: records(clientHelloMessage({ serverNames: [''] })),
    expect: { invalid: 'malformed', why: /host_name of 0 bytes/ },
  },
  {
    name: 'a host_name with a NUL byte',
    input: records(clientHelloMessage({ serverNames: ['a.test\u0000.evil'] })),
    expect: { invalid: 'malformed', why: /not printable ASCII/ },
  },
  {
    name: 'two server_name extensions (RFC 8446 §4.2)',
    input: records(clientHelloMessage({ extensions: [[0, serverNameExtension(['b.test'])]] })),
    expect: { invalid: 'malformed', why: /extension 0 appears twice/ },
  },
  {
    name: 'an extension that runs past the ClientHello',
    input: records(clientHelloMessage({ serverNames: null, trailing: [0, 5, 0, 9] })),
    expect: { invalid: 'malformed', why: /do not end where the ClientHello does/ },
  },
  {
    name: 'a legacy_session_id over 32 bytes',
    input: records(clientHelloMessage({ sessionIdLength: 33 })),
    expect: { invalid: 'malformed', why: /legacy_session_id of 33 bytes/ },
  },
];

describe('parseClientHello', () => {
  for (const c of cases)
    it(c.name, () => {
      const r = parseClientHello(c.input);
      if ('serverName' in c.expect) expect(r).toEqual({ kind: 'hello', serverName: c.expect.serverName });
      else if ('more' in c.expect) expect(r).toEqual({ kind: 'more' });
      else {
        expect(r.kind).toBe('invalid');
        if (r.kind !== 'invalid') return;
        expect(r.error.reason).toBe(c.expect.invalid);
        expect(r.error.message).toMatch(c.expect.why);
        expect(r.error.code).toBe('PORTICO_CLIENT_HELLO');
      }
    });

  it('every byte-by-byte prefix of a real hello waits, and the whole reads its name', () => {
    for (let n = 0; n < full.length; n++) expect(parseClientHello(full.subarray(0, n)).kind, `prefix of ${n}`).toBe('more');
  });

  for (const [name, servername, expected] of [
    ['a real node:tls ClientHello with SNI', 'pass.example.com', 'pass.example.com'],
    ['a real node:tls ClientHello without SNI (connecting to an IP address)', undefined, null],
  ] as const)
    it(name, async () => {
      const bytes = await capturedClientHello(servername);
      expect(parseClientHello(bytes)).toEqual({ kind: 'hello', serverName: expected });
    });
});
