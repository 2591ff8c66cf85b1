// What a Node TLS connection established about the client's certificate, read once per connection and kept with
// it (gateway/access/client-certificate.ts judges it per request).
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { PeerCertificate, TlsClientConnection } from '../access/client-certificate.ts';
import type { ClientCertificateAuthority } from '../table/schema.ts';

const ASKED_WITH = Symbol('portico.clientCertificateAuthority');
const READ = Symbol('portico.tlsClient');

/** The parts of a TLS socket read here; an HTTP/2 session's socket is a proxy that forwards them. */
type Socket = Pick<TLSSocket, 'getPeerCertificate' | 'servername'> & {
  _handle?: { verifyError?: () => (Error & { code?: string }) | undefined } | null;
  [ASKED_WITH]?: ClientCertificateAuthority | null;
  [READ]?: NodeTlsClient;
};

/** Called in the handshake (SNICallback): the authorities a client certificate is asked for with, or null. */
export function markAskedWith(socket: TLSSocket, authority: ClientCertificateAuthority | null): void {
  (socket as Socket)[ASKED_WITH] = authority;
}

/** nginx's $ssl_client_s_dn form (OpenSSL's XN_FLAG_RFC2253: every attribute in reverse order, RDNs joined by `,`,
 * the attributes of one RDN by `+`) from node:crypto's one-RDN-per-line form, whose values OpenSSL already escaped
 * by RFC 2253's rules (ASN1_STRFLGS_ESC_2253), so `\n`, `,` and ` + ` inside a value never appear unescaped.
 * Checked against nginx 1.22: `/CN=deep,client/O=Acme+OU=Ops` is `O=Acme+OU=Ops,CN=deep\,client`. */
export function rfc2253(multiline: string): string {
  return escapeMsb(
    multiline
      .split('\n')
      .filter((l) => l !== '')
      .reverse()
      .map((l) => l.split(' + ').reverse().join('+'))
      .join(','),
  );
}

/** nginx's flags include ASN1_STRFLGS_ESC_MSB: every byte of a non-ASCII character is written `\XX` (its UTF-8,
 * upper-case hex), so `CN=Zoë` is `CN=Zo\C3\AB` — a header value that stays ASCII, and what match-cn patterns
 * written for nginx expect. */
function escapeMsb(dn: string): string {
  if (/^[\x20-\x7e]*$/.test(dn)) return dn; // printable ASCII (OpenSSL already escaped control characters)
  let out = '';
  for (const ch of dn) {
    if (ch.charCodeAt(0) < 0x80) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function readPeer(socket: Socket): PeerCertificate | null {
  const leaf = socket.getPeerCertificate(true);
  if (leaf === null || leaf === undefined || leaf.raw === undefined) return null;
  // Certificates the client sent above its own, short of a self-signed root (the trust anchor).
  let intermediates = 0;
  const seen = new Set<object>([leaf]);
  for (let c = leaf.issuerCertificate; c?.raw !== undefined && !seen.has(c); c = c.issuerCertificate) {
    seen.add(c);
    if (c.issuerCertificate !== c) intermediates++;
  }
  const x = new X509Certificate(leaf.raw);
  const error = socket._handle?.verifyError?.();
  return {
    verifyError: error === undefined || error === null ? null : error.message,
    intermediates,
    subjectDn: rfc2253(x.subject),
    issuerDn: rfc2253(x.issuer),
    pem: x.toString(),
  };
}

class NodeTlsClient implements TlsClientConnection {
  private read: PeerCertificate | null | undefined;
  constructor(private readonly socket: Socket) {}
  get servername(): string | null {
    const s = this.socket.servername;
    return typeof s === 'string' && s !== '' ? s : null;
  }
  get askedWith(): ClientCertificateAuthority | null | undefined {
    const a = this.socket[ASKED_WITH];
    if (a !== undefined) return a;
    // No SNI: the callback never ran and nothing was asked. A resumed session would skip it too (the listener
    // allows no resumption: gateway/runtime/node.ts); the verdict refuses what it cannot know.
    return this.servername === null ? null : undefined;
  }
  peer(): PeerCertificate | null {
    if (this.read === undefined) this.read = readPeer(this.socket);
    return this.read;
  }
}

/** The connection's client-certificate facts, kept with the connection (`key`: the socket, or the HTTP/2 session
 * whose socket proxy `socket` is). */
export function tlsClientOf(key: object, socket: Socket): TlsClientConnection {
  const k = key as { [READ]?: NodeTlsClient };
  let c = k[READ];
  if (c === undefined) {
    c = new NodeTlsClient(socket);
    k[READ] = c;
  }
  return c;
}
