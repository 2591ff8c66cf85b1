// TLS Secrets → certificate info (in the table) and material (beside it). node:crypto parses the PEM
// without any I/O, so this stays pure.
import { Buffer } from 'node:buffer';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { CertificateInfo, CertificateMaterial } from '../../gateway/table/schema.ts';
import { errorText, fields, indexByName, type Fields, type ObjectInfo } from './objects.ts';

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export interface LoadedCertificate {
  info: CertificateInfo;
  material: CertificateMaterial;
  x509: X509Certificate;
}

export type SecretLoad =
  | { ok: true; cert: LoadedCertificate }
  | { ok: false; code: 'SecretNotFound' | 'SecretInvalid' | 'CertificateKeyMismatch'; message: string };

export type SecretLoader = (namespace: string, name: string) => SecretLoad;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;
const BASE64 = /^[A-Za-z0-9+/=\s_-]*$/;

/** A data value: `stringData` (plain, as manifests may write it) wins over `data` (base64, as the API
 * serves it), as the apiserver merges them. */
export function secretValue(secret: Fields, key: string): { value: string } | { error: string } | null {
  const plain = fields(secret.stringData)[key];
  if (typeof plain === 'string') return { value: plain };
  const encoded = fields(secret.data)[key];
  if (encoded === undefined || encoded === null) return null;
  if (typeof encoded !== 'string' || !BASE64.test(encoded)) return { error: `data[${JSON.stringify(key)}] is not base64` };
  return { value: Buffer.from(encoded, 'base64').toString('utf8') };
}

/** Splits node:crypto's subjectAltName (`DNS:a.com, DNS:"quoted, name", IP Address:1.2.3.4`). */
export function sanDnsNames(san: string | undefined): string[] {
  if (san === undefined) return [];
  const out: string[] = [];
  const entry = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = entry.exec(san); m !== null; m = entry.exec(san)) {
    if (m[1] !== 'DNS') continue;
    const raw = m[2] ?? '';
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = String(JSON.parse(raw));
      } catch {
        continue;
      }
    }
    out.push(value.toLowerCase());
  }
  return out;
}

function commonName(subject: string): string | null {
  for (const line of subject.split('\n')) {
    if (!line.startsWith('CN=')) continue;
    let v = line.slice(3);
    if (v.startsWith('"')) {
      try {
        v = String(JSON.parse(v));
      } catch {
        return null;
      }
    }
    return v.toLowerCase();
  }
  return null;
}

function loadSecret(secret: ObjectInfo, id: string): SecretLoad {
  const s = fields(secret.raw);
  const crt = secretValue(s, 'tls.crt');
  const key = secretValue(s, 'tls.key');
  if (crt === null || key === null) {
    const missing = [crt === null ? 'tls.crt' : '', key === null ? 'tls.key' : ''].filter(Boolean).join(' and ');
    const type = typeof s.type === 'string' ? s.type : '(none)';
    const what =
      type === TLS_SECRET_TYPE ? `has no ${missing}` : `is of type ${JSON.stringify(type)}, not ${TLS_SECRET_TYPE}, and has no ${missing}`;
    return { ok: false, code: 'SecretInvalid', message: `Secret ${id} ${what}; the default certificate is used` };
  }
  if ('error' in crt || 'error' in key) {
    const err = 'error' in crt ? crt.error : 'error' in key ? key.error : '';
    return { ok: false, code: 'SecretInvalid', message: `Secret ${id}: ${err}; the default certificate is used` };
  }
  const leaf = CERT_BLOCK.exec(crt.value);
  if (leaf === null)
    return {
      ok: false,
      code: 'SecretInvalid',
      message: `Secret ${id}: tls.crt contains no PEM certificate; the default certificate is used`,
    };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(leaf[0]);
  } catch (e) {
    return {
      ok: false,
      code: 'SecretInvalid',
      message: `Secret ${id}: tls.crt could not be parsed (${errorText(e)}); the default certificate is used`,
    };
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key.value));
  } catch (e) {
    return {
      ok: false,
      code: 'SecretInvalid',
      message: `Secret ${id}: tls.key could not be parsed (${errorText(e)}); the default certificate is used`,
    };
  }
  if (!matches) {
    return {
      ok: false,
      code: 'CertificateKeyMismatch',
      message: `Secret ${id}: tls.key is not the private key of the certificate in tls.crt; the default certificate is used`,
    };
  }
  const san = sanDnsNames(x509.subjectAltName);
  const cn = commonName(x509.subject);
  const info: CertificateInfo = {
    id,
    fingerprint: x509.fingerprint256,
    dnsNames: [...new Set(san.length > 0 ? san : cn === null ? [] : [cn])],
    notBefore: new Date(x509.validFrom).toISOString(),
    notAfter: new Date(x509.validTo).toISOString(),
  };
  return { ok: true, cert: { info, material: { id, certPem: crt.value, keyPem: key.value }, x509 } };
}

/** A memoised loader over one snapshot of Secrets. */
export function secretLoader(secrets: readonly unknown[]): SecretLoader {
  const index = indexByName(secrets);
  const memo = new Map<string, SecretLoad>();
  return (namespace, name) => {
    const id = `${namespace}/${name}`;
    let r = memo.get(id);
    if (r === undefined) {
      const secret = index.get(id);
      if (secret === undefined) {
        r = {
          ok: false,
          code: 'SecretNotFound',
          message: `Secret ${JSON.stringify(name)} not found in namespace ${JSON.stringify(namespace)}; the default certificate is used`,
        };
      } else {
        try {
          r = loadSecret(secret, id);
        } catch (e) {
          r = {
            ok: false,
            code: 'SecretInvalid',
            message: `Secret ${id} could not be read (${errorText(e)}); the default certificate is used`,
          };
        }
      }
      memo.set(id, r);
    }
    return r;
  };
}

/** Whether the certificate covers a rule host. Exact hosts: X509Certificate.checkHost (SAN DNS names with
 * their wildcards; the subject CN only when there are no SAN DNS names). A wildcard host `*.foo.com` is
 * covered only by the same wildcard name, since no single exact name covers every host it serves. The
 * catch-all host "" has nothing to check. */
export function coversHost(cert: LoadedCertificate, host: string): boolean {
  if (host === '') return true;
  if (host.startsWith('*.')) return cert.info.dnsNames.includes(host);
  try {
    return cert.x509.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}
