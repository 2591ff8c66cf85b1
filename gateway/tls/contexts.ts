// Certificate choice by SNI: the host entry the matcher picks for the server name (exact, then one-label
// wildcard) names the certificate; a name we do not serve, a host whose certificate is missing or
// invalid, or a client that sends no SNI gets the default certificate.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { LiveTable } from '../live.ts';
import type { CertificateMaterial } from '../table/schema.ts';

export class SniContexts {
  private readonly cache = new Map<string, SecureContext>(); // key: certificate id
  readonly defaultContext: SecureContext;

  constructor(
    private readonly live: LiveTable,
    readonly defaultCertificate: { certPem: string; keyPem: string },
  ) {
    this.defaultContext = createSecureContext({ cert: defaultCertificate.certPem, key: defaultCertificate.keyPem });
    // A new table may carry rotated material under the same id: drop what is not identical.
    live.onSwap((next, previous) => {
      for (const id of this.cache.keys()) {
        const now = next.certificates.get(id);
        const before = previous?.certificates.get(id);
        if (now === undefined || before === undefined || now.certPem !== before.certPem || now.keyPem !== before.keyPem)
          this.cache.delete(id);
      }
    });
  }

  /** The context for `servername` (undefined or "" when the client sent no SNI). */
  resolve(servername: string | undefined): SecureContext {
    const loaded = this.live.current;
    if (!servername || loaded === null) return this.defaultContext;
    const id = loaded.matcher.lookupHost(servername)?.tls?.certificate;
    if (id === undefined || id === null) return this.defaultContext;
    let ctx = this.cache.get(id);
    if (ctx === undefined) {
      const m: CertificateMaterial | undefined = loaded.certificates.get(id);
      if (m === undefined) return this.defaultContext;
      try {
        ctx = createSecureContext({ cert: m.certPem, key: m.keyPem });
      } catch {
        return this.defaultContext; // the compiler checked the pair; a bad one never breaks the handshake
      }
      this.cache.set(id, ctx);
    }
    return ctx;
  }

  /** For `SNICallback`. */
  readonly callback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    cb(null, this.resolve(servername));
  };
}
