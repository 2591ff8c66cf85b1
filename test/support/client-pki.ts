// Client-certificate authorities and client certificates for tests, made at test time with the openssl CLI
// (never committed): a root, intermediates below it, clients at several depths, and a stranger from another root.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const dir = mkdtempSync(join(tmpdir(), 'portico-pki-'));
  const run = (args: string[]): void => void execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  try {
    writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
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
    const signed = (name: string, subj: string, issuer: string, ext: 'ca.ext' | 'leaf.ext'): void => {
      key(name);
      run(['req', '-new', '-key', `${name}.key`, '-subj', subj, '-out', `${name}.csr`]);
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
    root('root', 'Portico test client CA');
    root('other', 'Another client CA');
    signed('int1', '/CN=Portico test intermediate 1', 'root', 'ca.ext');
    signed('int2', '/CN=Portico test intermediate 2', 'int1', 'ca.ext');
    signed('one', '/CN=client-one/O=Portico tests', 'root', 'leaf.ext');
    signed('two', '/CN=client-two/O=Portico tests', 'root', 'leaf.ext');
    signed('deep', '/CN=client-deep', 'int1', 'leaf.ext');
    signed('deeper', '/CN=client-deeper', 'int2', 'leaf.ext');
    signed('stranger', '/CN=client-one/O=Portico tests', 'other', 'leaf.ext');
    const pair = (name: string, chain: string[] = []) => ({
      certPem: [name, ...chain].map((n) => read(`${n}.crt`)).join(''),
      keyPem: read(`${name}.key`),
    });
    return {
      caPem: read('root.crt'),
      otherCaPem: read('other.crt'),
      one: pair('one'),
      two: pair('two'),
      deep: pair('deep', ['int1']),
      deeper: pair('deeper', ['int2', 'int1']),
      stranger: pair('stranger'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
