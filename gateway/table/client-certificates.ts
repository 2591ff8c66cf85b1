// validate() for client certificates (ingress-nginx's auth-tls-*): the host policies and the authorities they
// name, every field typed and bounded, and the rules the compiler and the worker share (which auth-tls-match-cn
// patterns may run, what an error page may be).
import { isRecord } from './names.ts';
import type { ClientCertificateAuthority, ClientCertificatePolicy, ClientCertificateVerify } from './schema.ts';
import type { IdSet } from './validation-memo.ts';

export const CLIENT_CERTIFICATE_VERIFY: readonly ClientCertificateVerify[] = ['on', 'off', 'optional', 'optional_no_ca'];

/** nginx's ssl_verify_depth is an int; more than a handful of intermediates is no real chain. */
export const MAX_VERIFY_DEPTH = 16;
/** A CA bundle of a few hundred certificates; a revocation list of some thousands of entries. */
const MAX_PEM = 1 << 20;
const MAX_PATTERN = 256;

/**
 * Why an auth-tls-match-cn value cannot run, or null. ingress-nginx (annotation validation) takes a regular
 * expression that starts with `CN=` and matches it against the subject DN (`if ($ssl_client_s_dn !~ ...)`). The
 * pattern runs on the request path in a backtracking engine, so the forms that backtrack without bound are refused:
 * a quantified group (`(a+)+`, `(a|a)*`), more than one unbounded repetition (`.*.*x`), back-references and
 * lookarounds. What remains (characters, classes, alternation, anchors, one unbounded repetition of a single
 * character or class) is linear enough for a DN of bounded length.
 */
export function matchCnProblem(pattern: string): string | null {
  if (!pattern.startsWith('CN=')) return 'it does not start with "CN="';
  if (pattern.length > MAX_PATTERN) return `it is longer than ${MAX_PATTERN} characters`;
  if (!/^[\x20-\x7e\u00a0-\uffff]*$/.test(pattern)) return 'it has a control character';
  if (/\)\s*[*+?{]/.test(pattern)) return 'it repeats a group, which can take exponential time to match';
  // Two unbounded repetitions (`.*.*x`) already take polynomial time on a long subject a client chose
  // (optional_no_ca matches unverified certificates): at most one.
  if ((pattern.replace(/\\./g, '').match(/[*+]|\{\d*,\}/g) ?? []).length > 1)
    return 'it has more than one unbounded repetition (*, + or {n,}), which can take polynomial time to match';
  if (/\\[1-9k]|\(\?[=!<]/.test(pattern)) return 'it uses a back-reference or lookaround';
  try {
    new RegExp(pattern);
  } catch {
    return 'it is not a valid regular expression';
  }
  return null;
}

/** Why an auth-tls-error-page value is not a place to redirect to, or null: an absolute http(s) URL, as
 * ingress-nginx's e2e test writes it, without characters that could split a header. */
export function errorPageProblem(url: string): string | null {
  if (url.length > 2048) return 'it is longer than 2048 characters';
  if (!/^[\x21-\x7e]*$/.test(url)) return 'it has a space, a control or a non-ASCII character';
  if (!/^https?:\/\/[^/?#]+/.test(url)) return 'it is not an absolute http or https URL';
  try {
    new URL(url);
  } catch {
    return 'it is not a valid URL';
  }
  return null;
}

const isPem = (v: unknown, label: string): boolean =>
  typeof v === 'string' && v.length <= MAX_PEM && v.includes(`-----BEGIN ${label}-----`);

/** The authorities list: ids unique, PEM text present and bounded. Returns the ids. */
export function checkAuthorities(v: unknown, bad: (at: string, message: string) => void): Set<string> {
  const ids = new Set<string>();
  if (v === undefined) return ids;
  if (!Array.isArray(v) || v.length === 0) {
    bad('clientCertificateAuthorities', 'must be a non-empty array when present');
    return ids;
  }
  v.forEach((a, i) => {
    const at = `clientCertificateAuthorities[${i}]`;
    if (!isRecord(a) || typeof a.id !== 'string' || a.id === '') {
      bad(at, 'needs a string id');
      return;
    }
    if (ids.has(a.id)) bad(`${at}.id`, `duplicate authority ${a.id}`);
    ids.add(a.id);
    if (!isPem(a.caPem, 'CERTIFICATE')) bad(`${at}.caPem`, 'must be PEM certificates');
    if (a.crlPem !== undefined && !isPem(a.crlPem, 'X509 CRL')) bad(`${at}.crlPem`, 'must be PEM revocation lists when present');
    for (const k of Object.keys(a)) if (!['id', 'caPem', 'crlPem'].includes(k)) bad(`${at}.${k}`, 'unknown field');
  });
  return ids;
}

const KNOWN = new Set(['authority', 'verify', 'depth', 'errorPage', 'passCertificate', 'matchCn', 'source']);

/** A host's policy: a field this worker does not know is a rule it would not apply, so the table is refused. */
export function checkClientCertificatePolicy(v: unknown, at: string, authorities: IdSet, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  for (const k of Object.keys(v)) if (!KNOWN.has(k)) bad(`${at}.${k}`, 'unknown field');
  if (typeof v.authority !== 'string' || !authorities.has(v.authority))
    bad(`${at}.authority`, `unknown authority ${JSON.stringify(v.authority)}`);
  if (!CLIENT_CERTIFICATE_VERIFY.includes(v.verify as ClientCertificateVerify))
    bad(`${at}.verify`, `must be one of ${CLIENT_CERTIFICATE_VERIFY.join(', ')}`);
  if (!Number.isInteger(v.depth) || (v.depth as number) < 0 || (v.depth as number) > MAX_VERIFY_DEPTH)
    bad(`${at}.depth`, `must be a whole number from 0 to ${MAX_VERIFY_DEPTH}`);
  if (v.errorPage !== undefined) {
    const why = typeof v.errorPage === 'string' ? errorPageProblem(v.errorPage) : 'it is not text';
    if (why !== null) bad(`${at}.errorPage`, why);
  }
  if (typeof v.passCertificate !== 'boolean') bad(`${at}.passCertificate`, 'must be a boolean');
  if (v.matchCn !== undefined) {
    const why = typeof v.matchCn === 'string' ? matchCnProblem(v.matchCn) : 'it is not text';
    if (why !== null) bad(`${at}.matchCn`, why);
  }
  if (!isRecord(v.source) || typeof v.source.namespace !== 'string' || typeof v.source.name !== 'string')
    bad(`${at}.source`, 'needs namespace and name');
}

/** The authority a host policy names (validate() checked that it exists). */
export function authorityOf(
  table: { clientCertificateAuthorities?: readonly ClientCertificateAuthority[] },
  policy: Pick<ClientCertificatePolicy, 'authority'>,
): ClientCertificateAuthority | null {
  return table.clientCertificateAuthorities?.find((a) => a.id === policy.authority) ?? null;
}
