// Client certificates, judged per request as nginx judges them (ngx_http_process_request, then the server's
// auth-tls-match-cn `if`): the handshake asked for a certificate and kept whatever came; each request to a host
// that checks them is refused or let through here, with the ssl-client-* headers ingress-nginx's template sets
// for the upstream. Pure: the runtime says what the connection established (TlsClientConnection).
import type { ClientCertificateAuthority, ClientCertificatePolicy } from '../table/schema.ts';

/** What the client's certificate established in the handshake. */
export interface PeerCertificate {
  /** Why it did not verify against the authorities (OpenSSL's reason, as nginx's `FAILED:` carries it); null: it did. */
  verifyError: string | null;
  /** Certificates between the client's and the trust anchor: what auth-tls-verify-depth bounds (OpenSSL's depth). */
  intermediates: number;
  /** Subject and issuer as RFC 2253 strings, nginx's $ssl_client_s_dn and $ssl_client_i_dn. */
  subjectDn: string;
  issuerDn: string;
  /** The client's certificate, PEM. */
  pem: string;
}

/** A TLS connection as far as client certificates go. */
export interface TlsClientConnection {
  /** The server name the client sent in the TLS handshake, or null. */
  readonly servername: string | null;
  /** The authorities the handshake asked for a certificate with; null: none asked (no SNI, or a host that had no
   * client certificates then); undefined: not known (the SNI callback did not run, as for a resumed session). */
  readonly askedWith: ClientCertificateAuthority | null | undefined;
  /** The certificate the client presented, or null. */
  peer(): PeerCertificate | null;
}

export type ClientCertificateOutcome =
  | { kind: 'pass'; upstreamHeaders: [string, string | null][] }
  | { kind: 'refuse'; status: 400 | 403 | 421 | 503 }
  | { kind: 'redirect'; status: 302; location: string };

/** Headers nginx sets upstream for a host with client certificates (ingress-nginx's nginx.tmpl: ssl-client-verify,
 * ssl-client-subject-dn, ssl-client-issuer-dn, ssl-client-cert). Whatever the client sent under these names never
 * reaches the upstream — also ssl-client-cert when the certificate is not passed on, which nginx lets through. */
const HEADERS = ['ssl-client-verify', 'ssl-client-subject-dn', 'ssl-client-issuer-dn', 'ssl-client-cert'] as const;

/** An empty value is not sent, as proxy_set_header with an empty value sends nothing. */
function headers(verify: string, peer: PeerCertificate | null, pass: boolean): [string, string | null][] {
  const value = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
  return [
    [HEADERS[0], verify],
    [HEADERS[1], value(peer?.subjectDn)],
    [HEADERS[2], value(peer?.issuerDn)],
    // nginx's $ssl_client_escaped_cert: the PEM, URL-encoded (ngx_escape_uri, NGX_ESCAPE_URI_COMPONENT).
    [HEADERS[3], pass && peer !== null ? encodeURIComponent(peer.pem) : null],
  ];
}

/** A subject DN longer than this never matches auth-tls-match-cn (bounded work per connection; real DNs are far shorter). */
const MAX_DN = 1024;
const patterns = new WeakMap<ClientCertificatePolicy, RegExp>();

function matchesCn(policy: ClientCertificatePolicy, dn: string): boolean {
  if (policy.matchCn === undefined) return true;
  if (dn.length > MAX_DN) return false;
  let re = patterns.get(policy);
  if (re === undefined) {
    re = new RegExp(policy.matchCn); // validate() ran matchCnProblem on it
    patterns.set(policy, re);
  }
  return re.test(dn);
}

const sameAuthority = (a: ClientCertificateAuthority, b: ClientCertificateAuthority): boolean =>
  a === b || (a.caPem === b.caPem && a.crlPem === b.crlPem);

/**
 * The verdict for a request to a host with `policy`:
 * - `conn` undefined: the runtime cannot see client certificates (Deno, workerd), so a host that asks for them
 *   answers 503 (fail closed); `off` still passes.
 * - `conn` null: plain HTTP. nginx checks nothing there; Portico treats it as a connection without a
 *   certificate, so `on` refuses it instead of serving the host unchecked.
 * - the handshake was for another host or other authorities than this request's host (an HTTP/2 connection
 *   reused across hosts, a Host header unlike the SNI name, authorities changed since): 421 Misdirected Request,
 *   as nginx answers when the Host's server verifies client certificates and the SNI name chose another, so the
 *   client opens a connection for this host.
 * - no certificate with `on`, or one that fails verification or is too deep with `on`/`optional`: 400, or a 302
 *   to auth-tls-error-page (nginx's `error_page 495 496 = URL`).
 * - auth-tls-match-cn that the subject DN does not match: 403.
 */
export function clientCertificateOutcome(...args: Inputs): ClientCertificateOutcome {
  // Every request of a connection to the same host of the same table gets the same verdict: kept with the
  // connection (the verdict is never modified by its users), it costs one lookup instead of a DN match per request.
  const [policy, authority, hostKey, conn] = args;
  if (conn === null || conn === undefined) return judge(...args);
  const last = verdicts.get(conn);
  if (last !== undefined && last.policy === policy && last.authority === authority && last.hostKey === hostKey) return last.outcome;
  const outcome = judge(...args);
  verdicts.set(conn, { policy, authority, hostKey, outcome });
  return outcome;
}

type Inputs = [
  policy: ClientCertificatePolicy,
  authority: ClientCertificateAuthority | null,
  hostKey: string,
  conn: TlsClientConnection | null | undefined,
  lookupHostKey: (servername: string) => string | null,
];

const verdicts = new WeakMap<
  TlsClientConnection,
  { policy: ClientCertificatePolicy; authority: ClientCertificateAuthority | null; hostKey: string; outcome: ClientCertificateOutcome }
>();

function judge(...[policy, authority, hostKey, conn, lookupHostKey]: Inputs): ClientCertificateOutcome {
  const pass = (verify: string, peer: PeerCertificate | null): ClientCertificateOutcome =>
    matchesCn(policy, peer?.subjectDn ?? '')
      ? { kind: 'pass', upstreamHeaders: headers(verify, peer, policy.passCertificate) }
      : { kind: 'refuse', status: 403 };
  if (policy.verify === 'off') return pass('NONE', null);
  if (conn === undefined || authority === null) return { kind: 'refuse', status: 503 };
  const refuse = (): ClientCertificateOutcome =>
    policy.errorPage === undefined ? { kind: 'refuse', status: 400 } : { kind: 'redirect', status: 302, location: policy.errorPage };
  if (conn === null) return policy.verify === 'on' ? refuse() : pass('NONE', null);
  if (conn.servername !== null) {
    const asked = conn.askedWith;
    // A handshake for this name that asked for no certificate (client certificates were switched on since) is
    // misdirected too: a new connection will be asked.
    // Not known (the callback did not run: a resumed session, which the Node listener does not allow) is refused
    // the same way rather than trusted.
    if (lookupHostKey(conn.servername) !== hostKey || asked === null || asked === undefined || !sameAuthority(asked, authority))
      return { kind: 'refuse', status: 421 };
  }
  const peer = conn.askedWith === null ? null : conn.peer();
  if (peer === null) return policy.verify === 'on' ? refuse() : pass('NONE', null);
  const error = peer.verifyError ?? (peer.intermediates > policy.depth ? 'certificate chain too long' : null);
  if (error === null) return pass('SUCCESS', peer);
  return policy.verify === 'optional_no_ca' ? pass(`FAILED:${error}`, peer) : refuse();
}
