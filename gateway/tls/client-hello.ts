// The server name (SNI) of a TLS ClientHello, read from the first bytes of a connection before TLS is terminated,
// so the HTTPS listener can relay ssl-passthrough hosts untouched (gateway/runtime/node-passthrough.ts). Hand-written
// rather than a package: these are unauthenticated bytes read before anything else happens on the connection, the
// rules are few (RFC 8446 §5.1 records, §4.1.2 ClientHello, §4.2 extensions; RFC 6066 §3 server_name) and every one
// of them is a case in test/edge/client-hello.test.ts. Pure: bytes in, a verdict out.
//
// Unlike ingress-nginx's pkg/tcpproxy, which reads only the first record (and sends a ClientHello split across
// records to its default, the terminating server), the handshake message is reassembled from as many records as it
// spans (RFC 8446 §5.1: "Handshake messages MAY be coalesced ... or fragmented across several records"), up to
// CLIENT_HELLO_MAX bytes.
import { PorticoError } from '../table/portico-error.ts';

/** The largest ClientHello handshake message read (its 4-byte header included). One record's worth (2^14, RFC 8446
 * §5.1), as ingress-nginx's 16 KiB buffer: far above what browsers send (about 2 KiB with post-quantum key shares),
 * and what an unauthenticated peer can make a connection buffer before it has named a server. */
export const CLIENT_HELLO_MAX = 16_384;
/** Bytes read to find it, record headers included: a hello in many small records costs 5 bytes a record more. */
export const CLIENT_HELLO_READ_MAX = CLIENT_HELLO_MAX + 2_048;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_SERVER_NAME = 0;
const NAME_TYPE_HOST_NAME = 0;
/** RFC 8446 §5.1: a record's fragment is at most 2^14 bytes. */
const RECORD_MAX = 16_384;

/** Why the first bytes are not a ClientHello Portico reads: the connection is closed without an answer, as the TLS
 * server would close it on the same bytes. */
export class ClientHelloError extends PorticoError {
  readonly code = 'PORTICO_CLIENT_HELLO';
  constructor(
    readonly reason: 'malformed' | 'too-large',
    message: string,
  ) {
    super(message);
  }
}

/** `hello`: the whole ClientHello was read; `serverName` is its host_name (as sent: ASCII, any case) or null when it
 * has no server_name extension. `more`: a valid prefix, wait for more bytes. */
export type ClientHelloParse =
  | { kind: 'hello'; serverName: string | null }
  | { kind: 'more' }
  | { kind: 'invalid'; error: ClientHelloError };

const MORE: ClientHelloParse = { kind: 'more' };
const malformed = (why: string): ClientHelloParse => ({ kind: 'invalid', error: new ClientHelloError('malformed', why) });
const tooLarge = (why: string): ClientHelloParse => ({ kind: 'invalid', error: new ClientHelloError('too-large', why) });

/** Reads the ClientHello from everything a connection sent so far (not only the last chunk). */
export function parseClientHello(buf: Uint8Array): ClientHelloParse {
  // Reassemble the handshake message from the records' fragments without copying until it is complete.
  const fragments: Uint8Array[] = [];
  let have = 0;
  let need = -1; // the whole handshake message's size once its header is in
  let at = 0;
  while (need === -1 || have < need) {
    if (buf.length - at < RECORD_HEADER) return partial(buf, at);
    const type = buf[at]!;
    // 22 = handshake; a TLS client's first record is always one (RFC 8446 §4.1.2). An SSL 2.0-style hello (high bit
    // set), plain HTTP on the TLS port and anything else end here.
    if (type !== CONTENT_HANDSHAKE) return malformed(`the first record is not a handshake record (content type ${type})`);
    // legacy_record_version: 0x0301 in practice, 0x0300 to 0x0304 accepted (RFC 8446 §5.1 "MUST be ignored" beyond
    // its major version, which is 3 for every TLS).
    if (buf[at + 1] !== 3) return malformed('the record version is not TLS (3.x)');
    const len = (buf[at + 3]! << 8) | buf[at + 4]!;
    if (len === 0) return malformed('an empty handshake record (RFC 8446 §5.1 forbids zero-length handshake fragments)');
    if (len > RECORD_MAX) return malformed(`a record of ${len} bytes, over the 2^14 of RFC 8446 §5.1`);
    if (at + RECORD_HEADER + len > CLIENT_HELLO_READ_MAX)
      return tooLarge(`more than ${CLIENT_HELLO_READ_MAX} bytes before the ClientHello ends`);
    if (buf.length < at + RECORD_HEADER + len) {
      // An incomplete record: what has arrived of it may already show the message is not a ClientHello.
      const early = headerCheck(fragments, have, buf.subarray(at + RECORD_HEADER));
      return early ?? MORE;
    }
    const fragment = buf.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len);
    fragments.push(fragment);
    have += fragment.length;
    at += RECORD_HEADER + len;
    if (need === -1 && have >= 4) {
      const head = concat(fragments, have).subarray(0, 4);
      const bad = headerProblem(head);
      if (bad !== null) return bad;
      need = 4 + ((head[1]! << 16) | (head[2]! << 8) | head[3]!);
    }
  }
  // A handshake record may carry the next message too; only the ClientHello is read.
  return parseBody(concat(fragments, have).subarray(4, need));
}

/** Not even a record header yet: nothing to judge but the first bytes. */
function partial(buf: Uint8Array, at: number): ClientHelloParse {
  if (buf.length > at && buf[at] !== CONTENT_HANDSHAKE)
    return malformed(`the first record is not a handshake record (content type ${buf[at]})`);
  if (buf.length > at + 1 && buf[at + 1] !== 3) return malformed('the record version is not TLS (3.x)');
  return MORE;
}

/** The handshake header's verdict from the fragments read so far plus part of the next record, if that is enough. */
function headerCheck(fragments: readonly Uint8Array[], have: number, next: Uint8Array): ClientHelloParse | null {
  if (have + next.length < 4) return have + next.length > 0 && firstByte(fragments, next) !== HANDSHAKE_CLIENT_HELLO ? notHello() : null;
  if (have >= 4) return null; // already checked
  const head = concat([...fragments, next], have + next.length).subarray(0, 4);
  return headerProblem(head);
}

const firstByte = (fragments: readonly Uint8Array[], next: Uint8Array): number | undefined =>
  fragments.length > 0 ? fragments[0]![0] : next[0];
const notHello = (): ClientHelloParse => malformed('the first handshake message is not a ClientHello');

function headerProblem(head: Uint8Array): ClientHelloParse | null {
  if (head[0] !== HANDSHAKE_CLIENT_HELLO) return notHello();
  const len = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
  if (4 + len > CLIENT_HELLO_MAX) return tooLarge(`a ClientHello of ${4 + len} bytes, over ${CLIENT_HELLO_MAX}`);
  return null;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p.subarray(0, Math.min(p.length, total - o)), o);
    o += p.length;
    if (o >= total) break;
  }
  return out;
}

/** RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, whose extensions may be absent): legacy_version, random,
 * legacy_session_id<0..32>, cipher_suites<2..2^16-2>, legacy_compression_methods<1..2^8-1>, extensions<8..2^16-1>. */
function parseBody(b: Uint8Array): ClientHelloParse {
  let at = 2 + 32;
  if (b.length < at + 1) return malformed('the ClientHello ends inside its random');
  const sessionId = b[at]!;
  if (sessionId > 32) return malformed(`a legacy_session_id of ${sessionId} bytes, over 32`);
  at += 1 + sessionId;
  if (b.length < at + 2) return malformed('the ClientHello ends before its cipher suites');
  const suites = (b[at]! << 8) | b[at + 1]!;
  if (suites < 2 || suites % 2 !== 0) return malformed(`cipher_suites of ${suites} bytes (at least 2, an even number)`);
  at += 2 + suites;
  if (b.length < at + 1) return malformed('the ClientHello ends before its compression methods');
  const compression = b[at]!;
  if (compression < 1) return malformed('no compression method');
  at += 1 + compression;
  if (at > b.length) return malformed('the ClientHello ends inside its compression methods');
  // No extensions at all: a TLS 1.2-or-older hello without SNI.
  if (at === b.length) return { kind: 'hello', serverName: null };
  if (b.length < at + 2) return malformed('a truncated extensions length');
  const extLen = (b[at]! << 8) | b[at + 1]!;
  at += 2;
  if (at + extLen !== b.length) return malformed('the extensions do not end where the ClientHello does');
  const seen = new Set<number>();
  let serverName: string | null = null;
  while (at < b.length) {
    if (b.length < at + 4) return malformed('a truncated extension header');
    const type = (b[at]! << 8) | b[at + 1]!;
    const len = (b[at + 2]! << 8) | b[at + 3]!;
    at += 4;
    if (at + len > b.length) return malformed(`extension ${type} runs past the ClientHello`);
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given extension block."
    if (seen.has(type)) return malformed(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXTENSION_SERVER_NAME) {
      const name = parseServerName(b.subarray(at, at + len));
      if (typeof name !== 'string') return name;
      serverName = name;
    }
    at += len;
  }
  return { kind: 'hello', serverName };
}

/** RFC 6066 §3: ServerNameList<1..2^16-1> of (name_type, HostName<1..2^16-1>), at most one name of a type. Only
 * host_name (0) exists, so exactly one entry, as OpenSSL (and so Node's TLS server) requires: a list of two names is
 * refused by the terminating server too. The name is ASCII without NUL, at most 255 bytes (a DNS name). */
function parseServerName(e: Uint8Array): string | ClientHelloParse {
  if (e.length < 2) return malformed('a server_name extension without its list');
  const listLen = (e[0]! << 8) | e[1]!;
  if (listLen + 2 !== e.length || listLen < 3) return malformed('a server_name list whose length does not match');
  if (e[2] !== NAME_TYPE_HOST_NAME) return malformed(`a server name of type ${e[2]}, not host_name`);
  const nameLen = (e[3]! << 8) | e[4]!;
  if (5 + nameLen !== e.length) return malformed('more than one server name, or a name whose length does not match');
  if (nameLen === 0 || nameLen > 255) return malformed(`a host_name of ${nameLen} bytes (1 to 255)`);
  let out = '';
  for (let i = 5; i < e.length; i++) {
    const c = e[i]!;
    if (c === 0 || c > 0x7e || c < 0x21) return malformed('a host_name with a byte that is not printable ASCII');
    out += String.fromCharCode(c);
  }
  return out;
}
