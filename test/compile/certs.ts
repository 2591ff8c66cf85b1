// Test certificates, made at test time with the openssl CLI into a temporary directory (never committed,
// never reused across runs). Golden files use fixed PEMs instead (golden/certs.md), so their output is
// stable.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCert {
  certPem: string;
  keyPem: string;
}

export interface CertOptions {
  cn: string;
  /** DNS subjectAltNames; none → a certificate with only a subject CN. */
  sans?: string[];
  key?: 'rsa' | 'ec';
  /** Valid 2020-01-01 → 2021-01-01 (signed with `openssl ca`, which can backdate). */
  expired?: boolean;
  /** Leaf signed by a throwaway CA; certPem is leaf followed by the CA certificate. */
  chain?: boolean;
}

const memo = new Map<string, TestCert>();

function openssl(dir: string, args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, file: string, kind: 'rsa' | 'ec'): void {
  const alg =
    kind === 'rsa'
      ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
      : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  openssl(dir, ['genpkey', ...alg, '-out', file]);
}

function generate(o: CertOptions): TestCert {
  const dir = mkdtempSync(join(tmpdir(), 'portico-certs-'));
  try {
    const kind = o.key ?? 'rsa';
    newKey(dir, 'leaf.key', kind);
    const san = o.sans !== undefined && o.sans.length > 0 ? ['-addext', `subjectAltName=${o.sans.map((s) => `DNS:${s}`).join(',')}`] : [];
    const subj = ['-subj', `/CN=${o.cn}/O=Portico tests`];
    if (o.expired === true) {
      writeFileSync(join(dir, 'index.txt'), '');
      writeFileSync(join(dir, 'serial'), '01\n');
      writeFileSync(
        join(dir, 'ca.cnf'),
        '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\norganizationName=optional\n',
      );
      openssl(dir, ['req', '-new', '-key', 'leaf.key', ...subj, ...san, '-out', 'leaf.csr']);
      openssl(dir, [
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-selfsign',
        '-keyfile',
        'leaf.key',
        '-in',
        'leaf.csr',
        '-startdate',
        '20200101000000Z',
        '-enddate',
        '20210101000000Z',
        '-notext',
        '-out',
        'leaf.crt',
      ]);
      return { certPem: readFileSync(join(dir, 'leaf.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8') };
    }
    if (o.chain === true) {
      newKey(dir, 'ca.key', kind);
      openssl(dir, ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=Portico test CA', '-days', '30', '-out', 'ca.crt']);
      openssl(dir, ['req', '-new', '-key', 'leaf.key', ...subj, ...san, '-out', 'leaf.csr']);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '2',
        '-days',
        '30',
        '-copy_extensions',
        'copy',
        '-out',
        'leaf.crt',
      ]);
      const chain = readFileSync(join(dir, 'leaf.crt'), 'utf8') + readFileSync(join(dir, 'ca.crt'), 'utf8');
      return { certPem: chain, keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8') };
    }
    openssl(dir, ['req', '-x509', '-new', '-key', 'leaf.key', ...subj, ...san, '-days', '30', '-out', 'leaf.crt']);
    return { certPem: readFileSync(join(dir, 'leaf.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A certificate for these options; the same options give the same certificate within one test run. */
export function makeCert(o: CertOptions): TestCert {
  const key = JSON.stringify(o);
  let c = memo.get(key);
  if (c === undefined) memo.set(key, (c = generate(o)));
  return c;
}
