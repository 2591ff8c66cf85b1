// Client-certificate authorities and client certificates for tests, made at test time with the openssl CLI
// (never committed): a root, intermediates below it, clients at several depths, and a stranger from another root.
import { CA_EXTENSIONS, CLIENT_EXTENSIONS, withOpensslCa } from './openssl-ca.ts';

export interface ClientPki {
  /** The root's certificate: what an auth-tls-secret's ca.crt holds. */
  caPem: string;
  /** Another root, for rotation. */
  otherCaPem: string;
  /** `CN=client-one,O=Portico tests`, signed by the root. */
  one: { certPem: string; keyPem: string };
  /** `CN=client-two`, signed by the root. */
  two: { certPem: string; keyPem: string };
  /** Signed by an intermediate (one between it and the root); certPem carries the intermediate too. */
  deep: { certPem: string; keyPem: string };
  /** Two intermediates between it and the root. */
  deeper: { certPem: string; keyPem: string };
  /** Signed by the other root. */
  stranger: { certPem: string; keyPem: string };
}

export function makeClientPki(): ClientPki {
  return withOpensslCa((ca) => {
    ca.root('root', 'Portico test client CA');
    ca.root('other', 'Another client CA');
    ca.signed('int1', '/CN=Portico test intermediate 1', 'root', CA_EXTENSIONS);
    ca.signed('int2', '/CN=Portico test intermediate 2', 'int1', CA_EXTENSIONS);
    ca.signed('one', '/CN=client-one/O=Portico tests', 'root', CLIENT_EXTENSIONS);
    ca.signed('two', '/CN=client-two/O=Portico tests', 'root', CLIENT_EXTENSIONS);
    ca.signed('deep', '/CN=client-deep', 'int1', CLIENT_EXTENSIONS);
    ca.signed('deeper', '/CN=client-deeper', 'int2', CLIENT_EXTENSIONS);
    ca.signed('stranger', '/CN=client-one/O=Portico tests', 'other', CLIENT_EXTENSIONS);
    return {
      caPem: ca.cert('root'),
      otherCaPem: ca.cert('other'),
      one: ca.pem('one'),
      two: ca.pem('two'),
      deep: ca.pem('deep', ['int1']),
      deeper: ca.pem('deeper', ['int2', 'int1']),
      stranger: ca.pem('stranger'),
    };
  });
}
