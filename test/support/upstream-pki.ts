// Certificates for TLS upstreams (proxy-ssl-* tests), made at test time with the openssl CLI (never committed): a
// root, server certificates for `backend.internal` signed directly and through two intermediates, one for another
// name, one from a stranger root, and a client certificate (clientAuth) the gateway presents to upstreams.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  certPem: string;
  keyPem: string;
}

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
  const dir = mkdtempSync(join(tmpdir(), 'portico-upki-'));
  const run = (args: string[]): void => void execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  try {
    writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    const key = (name: string): void =>
      run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`]);
    const root = (name: string, cn: string): void => {
      key(name);
      run([
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${cn}`,
        '-days',
        '30',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        `${name}.crt`,
      ]);
    };
    let serial = 10;
    const signed = (name: string, cn: string, issuer: string, ext: string): void => {
      key(name);
      run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
      run([
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${issuer}.crt`,
        '-CAkey',
        `${issuer}.key`,
        '-set_serial',
        String(serial++),
        '-days',
        '30',
        '-extfile',
        ext,
        '-out',
        `${name}.crt`,
      ]);
    };
    const server = (name: string, dns: string, issuer: string): void => {
      writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${dns}\n`);
      signed(name, dns, issuer, `${name}.ext`);
    };
    root('root', 'Portico test upstream CA');
    root('stranger', 'Stranger CA');
    signed('int1', 'Upstream intermediate 1', 'root', 'ca.ext');
    signed('int2', 'Upstream intermediate 2', 'int1', 'ca.ext');
    server('server', 'backend.internal', 'root');
    server('other', 'other.internal', 'root');
    server('deep', 'backend.internal', 'int2');
    server('strangerServer', 'backend.internal', 'stranger');
    server('serviceServer', 'secure.default.svc', 'root');
    signed('client', 'portico-gateway', 'root', 'client.ext');
    signed('strangerClient', 'someone', 'stranger', 'client.ext');
    const pem = (name: string, chain: string[] = []): Pem => ({
      certPem: [read(`${name}.crt`), ...chain.map((c) => read(`${c}.crt`))].join(''),
      keyPem: read(`${name}.key`),
    });
    return {
      caPem: read('root.crt'),
      server: pem('server'),
      otherName: pem('other'),
      deepServer: pem('deep', ['int2', 'int1']),
      strangerServer: pem('strangerServer'),
      serviceServer: pem('serviceServer'),
      client: pem('client'),
      strangerClient: pem('strangerClient'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
