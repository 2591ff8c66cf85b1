// A throw-away certificate authority for tests, driven through the openssl CLI in a temporary directory that is
// removed afterwards (nothing is committed): roots, certificates signed by a root or an intermediate, and the PEM
// pairs read back. client-pki.ts and upstream-pki.ts build their authorities with it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  certPem: string;
  keyPem: string;
}

/** Extensions of an intermediate authority. */
export const CA_EXTENSIONS = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
/** Extensions of a client certificate. */
export const CLIENT_EXTENSIONS = 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n';
/** Extensions of a server certificate for `dns`. */
export const serverExtensions = (dns: string): string =>
  `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:${dns}\n`;

export interface OpensslCa {
  /** A self-signed root `name` with the common name `cn` (an EC P-256 key, 30 days). */
  root(name: string, cn: string): void;
  /** `name`, with the subject `subject` (`/CN=...`), signed by `issuer` with `extensions` (an openssl extfile). */
  signed(name: string, subject: string, issuer: string, extensions: string): void;
  /** The PEM certificate of `name` followed by those of `chain`, and its key. */
  pem(name: string, chain?: readonly string[]): Pem;
  /** The certificate of `name` alone. */
  cert(name: string): string;
}

export function withOpensslCa<T>(build: (ca: OpensslCa) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'portico-ca-'));
  const run = (args: string[]): void => void execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const key = (name: string): void =>
    run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`]);
  let serial = 10;
  const ca: OpensslCa = {
    root(name, cn) {
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
    },
    signed(name, subject, issuer, extensions) {
      key(name);
      writeFileSync(join(dir, `${name}.ext`), extensions);
      run(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`]);
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
        `${name}.ext`,
        '-out',
        `${name}.crt`,
      ]);
    },
    pem: (name, chain = []) => ({ certPem: [name, ...chain].map((n) => read(`${n}.crt`)).join(''), keyPem: read(`${name}.key`) }),
    cert: (name) => read(`${name}.crt`),
  };
  try {
    return build(ca);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
