// Certificates for TLS upstreams (proxy-ssl-* tests), made at test time with the openssl CLI (never committed): a
// root, server certificates for `backend.internal` signed directly and through two intermediates, one for another
// name, one from a stranger root, and a client certificate (clientAuth) the gateway presents to upstreams.
import { CA_EXTENSIONS, CLIENT_EXTENSIONS, type Pem, serverExtensions, withOpensslCa } from './openssl-ca.ts';

export type { Pem } from './openssl-ca.ts';

export interface UpstreamPki {
  /** The root: what a proxy-ssl-secret's ca.crt holds. */
  caPem: string;
  /** `backend.internal` (SAN), signed by the root. */
  server: Pem;
  /** `other.internal`, signed by the root: the wrong name. */
  otherName: Pem;
  /** `backend.internal` through two intermediates (certPem carries them). */
  deepServer: Pem;
  /** `backend.internal`, signed by a root nobody trusts. */
  strangerServer: Pem;
  /** `secure.default.svc`: the Service DNS name Portico checks without proxy-ssl-name (Service `secure`). */
  serviceServer: Pem;
  /** The gateway's client certificate (clientAuth), signed by the root. */
  client: Pem;
  /** A client certificate of the stranger root. */
  strangerClient: Pem;
}

export function makeUpstreamPki(): UpstreamPki {
  return withOpensslCa((ca) => {
    const server = (name: string, dns: string, issuer: string): void => ca.signed(name, `/CN=${dns}`, issuer, serverExtensions(dns));
    ca.root('root', 'Portico test upstream CA');
    ca.root('stranger', 'Stranger CA');
    ca.signed('int1', '/CN=Upstream intermediate 1', 'root', CA_EXTENSIONS);
    ca.signed('int2', '/CN=Upstream intermediate 2', 'int1', CA_EXTENSIONS);
    server('server', 'backend.internal', 'root');
    server('other', 'other.internal', 'root');
    server('deep', 'backend.internal', 'int2');
    server('strangerServer', 'backend.internal', 'stranger');
    server('serviceServer', 'secure.default.svc', 'root');
    ca.signed('client', '/CN=portico-gateway', 'root', CLIENT_EXTENSIONS);
    ca.signed('strangerClient', '/CN=someone', 'stranger', CLIENT_EXTENSIONS);
    return {
      caPem: ca.cert('root'),
      server: ca.pem('server'),
      otherName: ca.pem('other'),
      deepServer: ca.pem('deep', ['int2', 'int1']),
      strangerServer: ca.pem('strangerServer'),
      serviceServer: ca.pem('serviceServer'),
      client: ca.pem('client'),
      strangerClient: ca.pem('strangerClient'),
    };
  });
}
