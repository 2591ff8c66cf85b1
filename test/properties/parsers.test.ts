// Properties of the parsers that read unauthenticated or operator-written bytes: the snippet lexer
// (sync/compile/snippet-lexer.ts), the TLS ClientHello reader (gateway/tls/client-hello.ts) and the PROXY protocol
// reader (gateway/access/proxy-protocol.ts). For arbitrary input none throws, each stays within its size limits
// (never asks for more bytes past them, never returns more than it read), a verdict on a prefix of the bytes is the
// verdict on the whole (a connection's bytes arrive in any chunks), and what a well-formed writer produces reads back.
// A failure prints fast-check's seed and shrunk input; to replay it, pass `{ seed, path }` from that output in
// fc.assert's options (https://fast-check.dev/docs/advanced/replay/).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROXY_V1_MAX, PROXY_V2_MAX_PAYLOAD, type ProxyParse, parseProxyHeader } from '../../gateway/access/proxy-protocol.ts';
import { CLIENT_HELLO_READ_MAX, type ClientHelloParse, parseClientHello } from '../../gateway/tls/client-hello.ts';
import { lexSnippet, MAX_DIRECTIVES, MAX_SNIPPET_LENGTH } from '../../sync/compile/snippet-lexer.ts';
import { clientHelloMessage, records } from '../support/client-hello.ts';
import { proxyV1, proxyV2 } from '../support/proxy-protocol.ts';

const RUNS = 300;

// ---------------------------------------------------------------------------------------------------------------
// The snippet lexer.

/** Text made of the characters the lexer treats specially, so that runs reach its quoting, escaping and comment
 * paths rather than stopping at the first control character. */
const snippetText = fc
  .array(
    fc.constantFrom(
      'more_set_headers',
      'add_header',
      ' ',
      '\t',
      '\n',
      ';',
      '"',
      "'",
      '\\',
      '$',
      '{',
      '}',
      '#',
      'X-A:',
      'b',
      'é',
      '\u0000',
      '\u007f',
      '$' + '{x}', // nginx's `${name}` form, whose `{` opens no block
    ),
    {
      maxLength: 40,
    },
  )
  .map((parts) => parts.join(''));

/** Text the lexer accepts, with what it must read back: names and arguments written the way nginx quotes them. */
const argText = fc.string({
  unit: fc.constantFrom('a', 'Z', '-', ':', ' ', '"', "'", '\\', '$', '{', '}', ';', '#', 'é', 't', 'n'),
  maxLength: 8,
});
const directive = fc.record({ name: fc.stringMatching(/^[a-z_]{1,12}$/), args: fc.array(argText, { maxLength: 3 }) });
const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

describe('lexSnippet', () => {
  it('never throws on arbitrary text, and answers within its limits', () => {
    fc.assert(
      fc.property(fc.oneof(snippetText, fc.string({ unit: 'binary', maxLength: 60 })), (text) => {
        const r = lexSnippet(text);
        if (!r.ok) {
          expect(r.line).toBeGreaterThanOrEqual(1);
          expect(r.line).toBeLessThanOrEqual(text.split('\n').length);
          return;
        }
        expect(r.directives.length).toBeLessThanOrEqual(MAX_DIRECTIVES);
        for (const d of r.directives)
          for (const t of [d.name, ...d.args.map((a) => a.text)]) expect(t.length).toBeLessThanOrEqual(text.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('refuses text over its size limit, and more directives than its limit, unread', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 20 }), (extra, more) => {
        expect(lexSnippet(`${'#'.repeat(MAX_SNIPPET_LENGTH)}${' '.repeat(extra)}`).ok).toBe(false);
        expect(lexSnippet('a;'.repeat(MAX_DIRECTIVES + more)).ok).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it('reads back what is written with nginx quoting: names, arguments, and which hold a variable', () => {
    fc.assert(
      fc.property(fc.array(directive, { minLength: 1, maxLength: 5 }), fc.constantFrom(' ', '\n', '\t'), (ds, gap) => {
        const text = ds
          .map((d) => [d.name, ...d.args.map(quote)].join(gap))
          .join(`;${gap}`)
          .concat(';');
        const r = lexSnippet(text);
        expect(r).toEqual({
          ok: true,
          directives: ds.map((d) => ({
            name: d.name,
            args: d.args.map((a) => ({ text: a, quoted: true, variable: a.includes('$') })),
            line: expect.any(Number) as unknown as number,
          })),
        });
        if (r.ok && gap !== '\n') expect(r.directives.every((d) => d.line === 1)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Prefix consistency, shared by the two connection readers: bytes arrive in chunks of any size.

type Verdict = ClientHelloParse | ProxyParse;
const summary = (v: Verdict): string =>
  v.kind === 'invalid' ? `invalid ${v.error.message}` : v.kind === 'more' ? 'more' : JSON.stringify(v);

/** A verdict given on a prefix of the bytes (anything but "more") is the verdict on all of them. */
function prefixConsistent(parse: (b: Uint8Array) => Verdict, bytes: Uint8Array, cut: number): void {
  const k = cut % (bytes.length + 1);
  const early = parse(bytes.subarray(0, k));
  if (early.kind === 'more') return;
  const whole = parse(bytes);
  // A v2 PROXY header or a ClientHello names how long it is: bytes after it do not change the verdict, and an
  // invalid prefix stays invalid (the reason may name a later check, so only the kind must agree then).
  if (early.kind === 'invalid') expect(whole.kind).toBe('invalid');
  else expect(summary(whole)).toBe(summary(early));
}

// ---------------------------------------------------------------------------------------------------------------
// The ClientHello reader.

const hostName = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}\.){0,3}[a-z]{1,10}$/);

/** A well-formed ClientHello naming `name`, cut into handshake records of the generated sizes. */
const helloRecords = fc
  .tuple(hostName, fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 40 }))
  .map(([name, sizes, after]) => ({ name, bytes: Buffer.concat([records(clientHelloMessage({ serverNames: [name] }), sizes), after]) }));

/** Bytes that start like a TLS handshake record, so runs get past the first check. */
const helloLike = fc.oneof(
  fc.uint8Array({ maxLength: 400 }),
  fc
    .tuple(fc.integer({ min: 0, max: 0x4100 }), fc.uint8Array({ maxLength: 400 }))
    .map(([len, rest]) => Uint8Array.from([22, 3, 1, len >> 8, len & 0xff, 1, ...rest])),
  // One byte of a well-formed hello changed.
  fc.tuple(helloRecords, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([h, at, xor]) => {
    const b = Uint8Array.from(h.bytes);
    b[at % b.length]! ^= xor;
    return b;
  }),
);

describe('parseClientHello', () => {
  it('never throws on arbitrary bytes; a server name it returns is printable ASCII of 1 to 255 bytes', () => {
    fc.assert(
      fc.property(helloLike, (bytes) => {
        const r = parseClientHello(bytes);
        if (r.kind === 'hello' && r.serverName !== null) expect(r.serverName).toMatch(/^[\x21-\x7e]{1,255}$/);
      }),
      { numRuns: RUNS },
    );
  });

  it('never waits for more once CLIENT_HELLO_READ_MAX bytes are in', () => {
    fc.assert(
      fc.property(helloLike, fc.integer({ min: 0, max: 255 }), (head, fill) => {
        const bytes = new Uint8Array(CLIENT_HELLO_READ_MAX);
        bytes.fill(fill);
        bytes.set(head.subarray(0, bytes.length));
        expect(parseClientHello(bytes).kind).not.toBe('more');
      }),
      { numRuns: 100 },
    );
  });

  it('reads the server name of a well-formed hello however it is split into records, whatever follows it', () => {
    fc.assert(
      fc.property(helloRecords, ({ name, bytes }) => {
        expect(parseClientHello(bytes)).toEqual({ kind: 'hello', serverName: name });
      }),
      { numRuns: RUNS },
    );
  });

  it('returns a server_name exactly when it is 1 to 255 bytes of printable ASCII (RFC 6066 §3 host_name), else refuses', () => {
    // Printable mostly, with the values at the edges of the rule now and then.
    const byte = fc.oneof(
      { weight: 30, arbitrary: fc.integer({ min: 0x21, max: 0x7e }) },
      { weight: 1, arbitrary: fc.constantFrom(0x00, 0x20, 0x21, 0x7e, 0x7f, 0x80, 0xff) },
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 300 }), fc.integer({ min: 1, max: 300 }), (codes, size) => {
        const name = String.fromCharCode(...codes);
        const r = parseClientHello(records(clientHelloMessage({ serverNames: [name] }), [size]));
        const printable = /^[\x21-\x7e]{1,255}$/.test(name);
        expect(r.kind === 'hello' ? r.serverName : r.kind).toBe(printable ? name : 'invalid');
      }),
      { numRuns: RUNS },
    );
  });

  it('gives on a prefix of the bytes the verdict it gives on all of them', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          helloLike,
          helloRecords.map((h) => h.bytes),
        ),
        fc.nat(),
        (bytes, cut) => prefixConsistent(parseClientHello, bytes, cut),
      ),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The PROXY protocol reader.

const ipv4 = fc.ipV4();
const endpoint4 = fc.record({ address: ipv4, port: fc.integer({ min: 0, max: 65535 }) });

/** Bytes that start like a v1 or v2 header, so runs get past the signature. */
const proxyLike = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  fc
    .string({ unit: fc.constantFrom(...'PROXY TCP4TCP6UNKNOWN 0123456789.:abcdef\r\n'.split('')), maxLength: 120 })
    .map((s) => Buffer.from(`PROXY ${s}`, 'latin1')),
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 300 }),
    )
    .map(([vc, fam, len, rest]) =>
      Buffer.concat([proxyV2({ raw: Buffer.alloc(0) }).subarray(0, 12), Buffer.from([vc, fam, len >> 8, len & 0xff]), rest]),
    ),
);

/** A header as a load balancer writes it (v1 or v2, IPv4), then the client's first bytes. */
const proxyWritten = fc
  .tuple(endpoint4, endpoint4, fc.boolean(), fc.uint8Array({ maxLength: 40 }))
  .map(([source, destination, v2, after]) => ({
    source,
    destination,
    v2,
    head: v2 ? proxyV2({ source, destination }) : proxyV1({ source, destination }),
    after,
  }));

describe('parseProxyHeader', () => {
  it('never throws on arbitrary bytes; a header it returns is no longer than the bytes, nor than its limit', () => {
    fc.assert(
      fc.property(proxyLike, (bytes) => {
        const r = parseProxyHeader(bytes);
        if (r.kind !== 'header') return;
        expect(r.header.length).toBeLessThanOrEqual(bytes.length);
        expect(r.header.length).toBeLessThanOrEqual(r.header.version === 1 ? PROXY_V1_MAX : 16 + PROXY_V2_MAX_PAYLOAD);
        expect(r.header.source === null).toBe(r.header.destination === null);
      }),
      { numRuns: RUNS },
    );
  });

  it('never waits for more once a v1 line or a v2 header at its limit is in', () => {
    fc.assert(
      fc.property(proxyLike, fc.integer({ min: 0, max: 255 }), (head, fill) => {
        const bytes = new Uint8Array(16 + PROXY_V2_MAX_PAYLOAD);
        bytes.fill(fill);
        bytes.set(head.subarray(0, bytes.length));
        expect(parseProxyHeader(bytes).kind).not.toBe('more');
      }),
      { numRuns: 100 },
    );
  });

  it('reads back the endpoints a v1 or v2 writer puts in, whatever follows the header', () => {
    fc.assert(
      fc.property(proxyWritten, ({ source, destination, v2, head, after }) => {
        const r = parseProxyHeader(Buffer.concat([head, after]));
        expect(r).toEqual({ kind: 'header', header: { version: v2 ? 2 : 1, length: head.length, source, destination } });
      }),
      { numRuns: RUNS },
    );
  });

  it('gives on a prefix of the bytes the verdict it gives on all of them', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          proxyLike,
          proxyWritten.map((w) => Buffer.concat([w.head, w.after])),
        ),
        fc.nat(),
        (bytes, cut) => prefixConsistent(parseProxyHeader, bytes, cut),
      ),
      { numRuns: RUNS },
    );
  });
});
