// validate() for upstream TLS (ingress-nginx's proxy-ssl-*): the route policies and the Secrets they name, every
// field typed and bounded, and the cipher-list rules the compiler and the worker share. A worker refuses a table
// whose policy it cannot read rather than dial the upstream with weaker TLS than it asked for.
import { isRecord, isWhole, onlyKeys } from './names.ts';
import type { UpstreamTlsProtocol } from './schema.ts';
import type { IdSet } from './validation-memo.ts';

type Bad = (at: string, message: string) => void;

/** proxy-ssl-protocols' allow-list in ingress-nginx v1.15 (proxyssl/main.go proxySSLProtocolRegex), in the order
 * sortProtocols leaves them (sort.Strings). */
export const UPSTREAM_TLS_PROTOCOLS: readonly UpstreamTlsProtocol[] = ['TLSv1.2', 'TLSv1.3'];
/** ingress-nginx's defaultProxySSLProtocols: TLSv1.2 alone. */
export const DEFAULT_UPSTREAM_TLS_PROTOCOLS: readonly UpstreamTlsProtocol[] = ['TLSv1.2'];
/** nginx's proxy_ssl_verify_depth is an int; more than a handful of intermediates is no real chain. */
export const MAX_UPSTREAM_VERIFY_DEPTH = 16;
/** A CA bundle of a few hundred certificates. */
const MAX_PEM = 1 << 20;
/** ingress-nginx's proxySSLCiphersRegex allows `[A-Za-z0-9+:_\-!]`; OpenSSL lists are short. */
const MAX_CIPHERS = 1024;

/** OpenSSL cipher-string keywords (openssl-ciphers(1), "CIPHER STRINGS") that select authenticated, encrypted
 * suites. Anything else that is not a cipher's own name is unknown. */
const CIPHER_KEYWORDS: ReadonlySet<string> = new Set([
  'DEFAULT',
  'ALL',
  'HIGH',
  'MEDIUM',
  'FIPS',
  'RSA',
  'kRSA',
  'aRSA',
  'ECDHE',
  'kECDHE',
  'EECDH',
  'kEECDH',
  'DHE',
  'kDHE',
  'EDH',
  'kEDH',
  'DH',
  'ECDH',
  'ECDSA',
  'aECDSA',
  'DSS',
  'aDSS',
  'AES',
  'AES128',
  'AES256',
  'AESGCM',
  'AESCCM',
  'AESCCM8',
  'CHACHA20',
  'CAMELLIA',
  'CAMELLIA128',
  'CAMELLIA256',
  'ARIA',
  'ARIA128',
  'ARIA256',
  'SHA',
  'SHA1',
  'SHA256',
  'SHA384',
  'SUITEB128',
  'SUITEB128ONLY',
  'SUITEB192',
]);

/** Keywords and name parts that add suites without authentication or encryption, or broken ones: with them an
 * upstream could skip presenting a certificate at all, so enabling one is refused (excluding one is fine). */
const WEAKENING = /^(aNULL|eNULL|NULL|ADH|AECDH|COMPLEMENTOFALL|COMPLEMENTOFDEFAULT|EXPORT|EXP|LOW|RC4|DES|3DES|MD5|PSK|aPSK|kPSK|SRP)$/;
const WEAK_NAME = /(^|-)(NULL|ADH|AECDH|EXP|RC4|DES|MD5|PSK|SRP|anon)(-|$)|^(TLS_.*NULL|TLS_.*anon)/i;
/** A cipher's own OpenSSL (`ECDHE-RSA-AES128-GCM-SHA256`) or TLS 1.3 IANA (`TLS_AES_128_GCM_SHA256`) name. */
const CIPHER_NAME = /^(?:[A-Z0-9]+(?:-[A-Z0-9]+)+|TLS_[A-Z0-9_]+)$/;

export type CipherProblem = { kind: 'unknown' | 'weakening'; token: string } | null;

/** Why a proxy-ssl-ciphers value cannot be used as is, or null. `unknown`: a token neither a keyword of the allow-list
 * nor a cipher name (ingress-nginx falls back to DEFAULT for a value it does not accept; so does Portico);
 * `weakening`: it enables unauthenticated, unencrypted or broken suites (Portico refuses the route instead). */
export function cipherListProblem(list: string): CipherProblem {
  if (list === '' || list.length > MAX_CIPHERS) return { kind: 'unknown', token: list.slice(0, 40) };
  for (const raw of list.split(':')) {
    const negated = raw.startsWith('!') || raw.startsWith('-');
    const body = negated || raw.startsWith('+') ? raw.slice(1) : raw;
    // `ECDHE+AESGCM`: the suites that are in every part.
    const parts = body.split('+');
    for (const part of parts) {
      if (part === '') return { kind: 'unknown', token: raw };
      const weak = WEAKENING.test(part) || WEAK_NAME.test(part);
      if (weak && !negated) return { kind: 'weakening', token: raw };
      if (!weak && !CIPHER_KEYWORDS.has(part) && !CIPHER_NAME.test(part)) return { kind: 'unknown', token: raw };
    }
  }
  return null;
}

/** The proxy-ssl-secrets list: ids unique, PEM text present and bounded. Returns the ids. */
export function checkUpstreamTlsSecrets(v: unknown, bad: Bad): Set<string> {
  const ids = new Set<string>();
  if (v === undefined) return ids;
  if (!Array.isArray(v) || v.length === 0) {
    bad('upstreamTlsSecrets', 'must be a non-empty array when present');
    return ids;
  }
  v.forEach((s, i) => {
    const at = `upstreamTlsSecrets[${i}]`;
    if (!isRecord(s) || typeof s.id !== 'string' || !/^[a-z0-9.-]+\/[a-z0-9.-]+$/.test(s.id)) {
      bad(at, 'needs an id namespace/name');
      return;
    }
    if (ids.has(s.id)) bad(`${at}.id`, `duplicate Secret ${s.id}`);
    ids.add(s.id);
    onlyKeys(s, ['id', 'caPem', 'clientFingerprint'], at, bad);
    if (typeof s.caPem !== 'string' || s.caPem.length > MAX_PEM || !s.caPem.includes('-----BEGIN CERTIFICATE-----'))
      bad(`${at}.caPem`, 'must be PEM certificates');
    if (
      s.clientFingerprint !== undefined &&
      (typeof s.clientFingerprint !== 'string' || !/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/.test(s.clientFingerprint))
    )
      bad(`${at}.clientFingerprint`, 'must be a SHA-256 fingerprint');
  });
  return ids;
}

/** RFC 1123 host name (no wildcard) or an IP literal: what checkServerIdentity can match and SNI can carry. */
export function upstreamNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 253) return 'it is empty or longer than 253 characters';
  if (/^[0-9.]+$/.test(name) || /^[0-9a-f:]+$/i.test(name)) return null; // an address (an IP SAN)
  const labels = name.split('.');
  if (!labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return 'it is not a lower-case DNS name';
  return null;
}

/** A route's policy: a field this worker does not know is a rule it would not apply, so the table is refused. */
export function checkUpstreamTlsPolicy(v: unknown, at: string, secrets: IdSet, protocol: unknown, bad: Bad): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  onlyKeys(v, ['secret', 'verify', 'depth', 'name', 'serverName', 'ciphers', 'protocols'], at, bad);
  if (protocol !== 'HTTPS' && protocol !== 'GRPCS') bad(at, 'needs backendProtocol HTTPS or GRPCS');
  if (typeof v.secret !== 'string' || !secrets.has(v.secret)) bad(`${at}.secret`, `unknown Secret ${JSON.stringify(v.secret)}`);
  if (typeof v.verify !== 'boolean') bad(`${at}.verify`, 'must be a boolean');
  if (typeof v.serverName !== 'boolean') bad(`${at}.serverName`, 'must be a boolean');
  if (!isWhole(v.depth, 1, MAX_UPSTREAM_VERIFY_DEPTH)) bad(`${at}.depth`, `must be a whole number from 1 to ${MAX_UPSTREAM_VERIFY_DEPTH}`);
  if (v.name !== undefined) {
    const why = typeof v.name === 'string' ? upstreamNameProblem(v.name) : 'it is not text';
    if (why !== null) bad(`${at}.name`, why);
  }
  if (v.ciphers !== undefined && (typeof v.ciphers !== 'string' || cipherListProblem(v.ciphers) !== null))
    bad(`${at}.ciphers`, 'must be a cipher list of the allow-list');
  const p = v.protocols;
  if (
    !Array.isArray(p) ||
    p.length === 0 ||
    p.some((x, i) => !UPSTREAM_TLS_PROTOCOLS.includes(x as UpstreamTlsProtocol) || (i > 0 && !(String(p[i - 1]) < String(x))))
  )
    bad(`${at}.protocols`, `must be a sorted, distinct, non-empty list of ${UPSTREAM_TLS_PROTOCOLS.join(', ')}`);
}
