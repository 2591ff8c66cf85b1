// Certificate choice by SNI: the host entry the matcher picks for the server name (exact, then one-label
// wildcard) names the certificate; a name we do not serve, a host whose certificate is missing or
// invalid, or a client that sends no SNI gets the default certificate: the table's (--default-ssl-certificate) when
// it names one, else the worker's generated one.
//
// A host that checks client certificates (auth-tls-*) also gets its authorities in the context, and the
// connection is switched to ask for a client certificate — without refusing the handshake when none or a bad one
// comes: as nginx does, the verdict is given per request (400, an error page, or the result passed upstream),
// see gateway/access/client-certificate.ts.
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { LiveTable } from '../live.ts';
import type { CertificateMaterial, ClientCertificateAuthority } from '../table/schema.ts';
import { authorityOf } from '../table/client-certificates.ts';
import { markAskedWith } from './peer-certificate.ts';

/** TLSWrap's per-connection verify switch (src/crypto/crypto_tls.cc, SetVerifyMode); Node has no public API to
 * ask for a client certificate on some server names only, and nginx's per-server ssl_verify_client needs it. */
interface VerifyModeHandle {
  setVerifyMode(requestCert: boolean, rejectUnauthorized: boolean): void;
}

const hasVerifyMode = (h: unknown): h is VerifyModeHandle =>
  typeof h === 'object' && h !== null && typeof (h as Partial<VerifyModeHandle>).setVerifyMode === 'function';

export class SniContexts {
  private readonly cache = new Map<string, SecureContext>(); // key: certificate id + authority id
  readonly defaultContext: SecureContext;

  constructor(
    private readonly live: LiveTable,
    readonly defaultCertificate: { certPem: string; keyPem: string },
  ) {
    this.defaultContext = createSecureContext({ cert: defaultCertificate.certPem, key: defaultCertificate.keyPem });
    // A new table may carry rotated material under the same ids: contexts are rebuilt on demand.
    live.onSwap((next, previous) => {
      const before = previous?.matcher.table.clientCertificateAuthorities ?? [];
      const now = next.matcher.table.clientCertificateAuthorities ?? [];
      const authoritiesSame = JSON.stringify(before) === JSON.stringify(now);
      for (const key of this.cache.keys()) {
        const id = key.slice(0, key.indexOf('\n'));
        const m = next.certificates.get(id);
        const p = previous?.certificates.get(id);
        if (!authoritiesSame || m === undefined || p === undefined || m.certPem !== p.certPem || m.keyPem !== p.keyPem)
          this.cache.delete(key);
      }
    });
  }

  /** The context for `servername` (undefined or "" when the client sent no SNI), and the authority a client
   * certificate is asked for with (null: none is asked for). */
  resolve(servername: string | undefined): { context: SecureContext; authority: ClientCertificateAuthority | null } {
    const loaded = this.live.current;
    if (loaded === null) return { context: this.defaultContext, authority: null };
    const entry = servername ? loaded.matcher.lookupHost(servername) : null;
    const policy = entry?.clientCertificate;
    const authority = policy === undefined || policy.verify === 'off' ? null : authorityOf(loaded.matcher.table, policy);
    // The table's default certificate (--default-ssl-certificate) stands in for the generated one.
    const id = entry?.tls?.certificate ?? loaded.matcher.table.defaultCertificate ?? null;
    const m: CertificateMaterial | undefined | null = id === null ? null : loaded.certificates.get(id);
    if (authority === null && (m === null || m === undefined)) return { context: this.defaultContext, authority: null };
    const key = `${m?.id ?? ''}\n${authority?.id ?? ''}`;
    let ctx = this.cache.get(key);
    if (ctx === undefined) {
      const pair = m ?? { certPem: this.defaultCertificate.certPem, keyPem: this.defaultCertificate.keyPem };
      try {
        ctx = createSecureContext({
          cert: pair.certPem,
          key: pair.keyPem,
          ...(authority === null ? {} : { ca: authority.caPem, ...(authority.crlPem === undefined ? {} : { crl: authority.crlPem }) }),
        });
      } catch {
        // The compiler checked the pair and the authorities; should they still not load, no certificate is asked
        // for, and the request check answers 421 (nothing was asked for this host) rather than serving unchecked.
        return { context: this.defaultContext, authority: null };
      }
      this.cache.set(key, ctx);
    }
    return { context: ctx, authority };
  }

  /** For `SNICallback`; `this` is the TLS socket being handshaken (Node calls it as the socket's method). */
  readonly callback = ((contexts: SniContexts) =>
    function sniCallback(this: TLSSocket | undefined, servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void {
      const { context, authority } = contexts.resolve(servername);
      const handle = (this as { _handle?: unknown } | undefined)?._handle;
      if (this !== undefined) {
        if (authority !== null && hasVerifyMode(handle)) {
          handle.setVerifyMode(true, false);
          markAskedWith(this, authority);
        } else markAskedWith(this, null);
      }
      cb(null, context);
    })(this);
}
