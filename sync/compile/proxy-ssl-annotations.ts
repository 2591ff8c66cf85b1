// ingress-nginx's proxy-ssl-* (internal/ingress/annotations/proxyssl/main.go, v1.15.1) → what an Ingress asks of
// TLS to its upstreams; resolveProxySsl (proxy-ssl-secrets.ts) completes it with the Secret.
//
// Read as ingress-nginx reads them: only with proxy-ssl-secret (its Parse returns an empty config otherwise);
// proxy-ssl-secret must be `namespace/name` (k8s.ParseNameNS) in the Ingress's own namespace, else the location is
// denied (503). A companion whose value ingress-nginx does not accept falls back to its default, with a warning —
// except where the default is weaker than what was asked for (Portico's choice, README "Upstream protocol"):
// - proxy-ssl-verify not `on`/`off`: ingress-nginx verifies nothing (`off`); Portico answers 503 instead;
// - proxy-ssl-name not a DNS name while verify is on: ingress-nginx checks the certificate against "" (nothing
//   matches, so every request fails); Portico answers 503 with a warning that says why;
// - proxy-ssl-ciphers enabling suites without authentication or encryption (aNULL, eNULL, NULL, ADH, EXPORT, ...):
//   ingress-nginx passes them to OpenSSL; Portico answers 503. An unknown cipher token: DEFAULT, as ingress-nginx.
import {
  cipherListProblem,
  DEFAULT_UPSTREAM_TLS_PROTOCOLS,
  MAX_UPSTREAM_VERIFY_DEPTH,
  UPSTREAM_TLS_PROTOCOLS,
  upstreamNameProblem,
} from '../../gateway/table/validate-upstream-tls.ts';
import type { ObjectRef, UpstreamTlsPolicy, UpstreamTlsProtocol } from '../../gateway/table/schema.ts';
import type { UnenforcedGuard } from './access-control.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

const P = (name: string): string => `${NGINX_PREFIX}proxy-ssl-${name}`;
export const PROXY_SSL_SECRET = P('secret');
export const PROXY_SSL_VERIFY = P('verify');
export const PROXY_SSL_VERIFY_DEPTH = P('verify-depth');
export const PROXY_SSL_NAME = P('name');
export const PROXY_SSL_SERVER_NAME = P('server-name');
export const PROXY_SSL_CIPHERS = P('ciphers');
export const PROXY_SSL_PROTOCOLS = P('protocols');
const COMPANIONS = [
  PROXY_SSL_CIPHERS,
  PROXY_SSL_NAME,
  PROXY_SSL_PROTOCOLS,
  PROXY_SSL_SERVER_NAME,
  PROXY_SSL_VERIFY,
  PROXY_SSL_VERIFY_DEPTH,
];

/** What an Ingress asks for: the Secret as written (its namespace is the Ingress's) and the policy without it. */
export interface ProxySslRequest {
  secret: ObjectRef;
  policy: Omit<UpstreamTlsPolicy, 'secret'>;
}

export interface ParsedProxySsl {
  request?: ProxySslRequest;
  /** Values that cannot be honoured: the routes of the Ingress answer 503. */
  malformed: UnenforcedGuard[];
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

/** ingress-nginx's proxySSLProtocolRegex and sortProtocols: a value of only TLSv1.2, TLSv1.3 and spaces, sorted;
 * none left (or any other value) is the default, TLSv1.2. */
function protocolsOf(text: string): UpstreamTlsProtocol[] | null {
  if (!/^(TLSv1\.2|TLSv1\.3| )*$/.test(text)) return null;
  const listed = new Set(text.split(' ').filter((p) => p !== ''));
  const out = UPSTREAM_TLS_PROTOCOLS.filter((p) => listed.has(p));
  return out.length === 0 ? [...DEFAULT_UPSTREAM_TLS_PROTOCOLS] : out;
}

export function parseProxySslAnnotations(annotations: Fields, namespace: string | undefined): ParsedProxySsl {
  const out: ParsedProxySsl = { malformed: [], consumed: new Set(), problems: [] };
  const present = COMPANIONS.filter((k) => Object.hasOwn(annotations, k));
  for (const k of present) out.consumed.add(k);
  if (!Object.hasOwn(annotations, PROXY_SSL_SECRET)) {
    for (const key of present)
      out.problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(key)} has no effect without ${JSON.stringify(PROXY_SSL_SECRET)} (as in ingress-nginx), so the upstream's certificate is not verified and no server name is sent`,
      });
    return out;
  }
  out.consumed.add(PROXY_SSL_SECRET);
  let ok = true;
  const fail = (key: string, why: string): void => {
    ok = false;
    out.malformed.push({ key, scope: 'routes' });
    out.problems.push({
      code: 'InvalidAnnotation',
      message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}: ${why}, so the routes of this Ingress answer 503 (fail closed) instead of connecting to the upstream without the TLS it asks for`,
    });
  };
  const warn = (key: string, why: string, instead: string): void =>
    void out.problems.push({
      code: 'InvalidAnnotation',
      message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}: ${why}, so ${instead} applies (as in ingress-nginx)`,
    });
  const text = (k: string): string | undefined => {
    const v = annotations[k];
    return typeof v === 'string' ? v.trim() : v === undefined ? undefined : '\u0000';
  };

  // k8s.ParseNameNS: exactly namespace/name; ingress-nginx denies the location otherwise, and for another
  // namespace's Secret unless allow-cross-namespace-resources is on (off by default).
  const secretText = text(PROXY_SSL_SECRET) ?? '';
  const m = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/.exec(secretText);
  let secret: ObjectRef | undefined;
  if (m === null) fail(PROXY_SSL_SECRET, 'it is not namespace/name of a Secret');
  else if (m[1] !== namespace)
    fail(PROXY_SSL_SECRET, `it names a Secret of namespace ${m[1]}, not the Ingress's own, which is not allowed`);
  else secret = { namespace: m[1]!, name: m[3]! };

  let verify = false;
  const v = text(PROXY_SSL_VERIFY);
  if (v !== undefined) {
    if (v === 'on' || v === 'off') verify = v === 'on';
    else fail(PROXY_SSL_VERIFY, 'it is not "on" or "off" (ingress-nginx would verify nothing)');
  }

  let depth = 1;
  const d = text(PROXY_SSL_VERIFY_DEPTH);
  if (d !== undefined) {
    // GetIntAnnotation, and 0 means the default.
    const n = /^\d{1,3}$/.test(d) ? Number(d) : Number.NaN;
    if (!Number.isInteger(n) || n > MAX_UPSTREAM_VERIFY_DEPTH)
      warn(PROXY_SSL_VERIFY_DEPTH, `it is not a whole number from 0 to ${MAX_UPSTREAM_VERIFY_DEPTH}`, 'the default depth 1');
    else if (n > 0) depth = n;
  }

  let name: string | undefined;
  // DNS names compare case-insensitively (RFC 4343): one spelling in the table.
  const nm = text(PROXY_SSL_NAME)?.toLowerCase();
  if (nm !== undefined && nm !== '') {
    const why = upstreamNameProblem(nm);
    if (why === null) name = nm;
    else if (verify) fail(PROXY_SSL_NAME, `${why}, and the upstream's certificate is verified against it`);
    else warn(PROXY_SSL_NAME, why, "the Service's name");
  }

  let serverName = false;
  const sn = text(PROXY_SSL_SERVER_NAME);
  if (sn !== undefined) {
    if (sn === 'on' || sn === 'off') serverName = sn === 'on';
    else warn(PROXY_SSL_SERVER_NAME, 'it is not "on" or "off"', 'off (no server name sent)');
  }

  let ciphers: string | undefined;
  const c = text(PROXY_SSL_CIPHERS);
  if (c !== undefined && c !== 'DEFAULT') {
    const problem = cipherListProblem(c);
    if (problem === null) ciphers = c;
    else if (problem.kind === 'weakening')
      fail(
        PROXY_SSL_CIPHERS,
        `${JSON.stringify(problem.token)} enables cipher suites without authentication or encryption, or broken ones`,
      );
    else warn(PROXY_SSL_CIPHERS, `${JSON.stringify(problem.token)} is not a cipher or cipher-string keyword Portico knows`, 'DEFAULT');
  }

  let protocols = [...DEFAULT_UPSTREAM_TLS_PROTOCOLS];
  const p = text(PROXY_SSL_PROTOCOLS);
  if (p !== undefined) {
    const parsed = protocolsOf(p);
    if (parsed === null) warn(PROXY_SSL_PROTOCOLS, 'it names something other than TLSv1.2 and TLSv1.3', 'TLSv1.2');
    else protocols = parsed;
  }

  if (!ok || secret === undefined) return out;
  out.request = {
    secret,
    policy: {
      verify,
      depth,
      serverName,
      protocols,
      ...(name === undefined ? {} : { name }),
      ...(ciphers === undefined ? {} : { ciphers }),
    },
  };
  return out;
}
