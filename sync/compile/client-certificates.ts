// Client certificates (ingress-nginx's auth-tls-*): the annotations become a host policy, the Secret's `ca.crt`
// (and `ca.crl`) the authority it is checked against. Read as ingress-nginx's authtls parser reads them
// (internal/ingress/annotations/authtls/main.go) and applied as its controller applies them: per host, not per
// path — the first Ingress on the host (oldest first) that asks for client certificates sets them for the whole
// server, because nginx checks them in the TLS handshake.
//
// Where ingress-nginx quietly falls back (a verify-client or match-cn it does not accept is replaced by its
// default or dropped; a Secret without ca.crt disables mutual authentication), Portico fails closed: every route
// of the host answers 503 with a Warning, so a client certificate rule never silently stops being one.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { CLIENT_CERTIFICATE_VERIFY, errorPageProblem, MAX_VERIFY_DEPTH, matchCnProblem } from '../../gateway/table/client-certificates.ts';
import type {
  ClientCertificateAuthority,
  ClientCertificatePolicy,
  ClientCertificateVerify,
  ObjectRef,
} from '../../gateway/table/schema.ts';
import type { UnenforcedGuard } from './access-control.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { goBool } from './annotation-values.ts';
import { secretRef } from './basic-auth.ts';
import type { Report } from './diagnostics.ts';
import type { IngressPlan } from './ingress.ts';
import { fields, indexByName, show, type Fields, type ObjectInfo } from './objects.ts';
import { secretValue } from './tls.ts';

const T = (name: string): string => `${NGINX_PREFIX}auth-tls-${name}`;
export const AUTH_TLS_SECRET = T('secret');
const VERIFY_CLIENT = T('verify-client');
const VERIFY_DEPTH = T('verify-depth');
const ERROR_PAGE = T('error-page');
const PASS_CERTIFICATE = T('pass-certificate-to-upstream');
const MATCH_CN = T('match-cn');
const KEYS = [AUTH_TLS_SECRET, VERIFY_CLIENT, VERIFY_DEPTH, ERROR_PAGE, PASS_CERTIFICATE, MATCH_CN];

/** What an Ingress asks for: the policy without its authority, and the Secret as written. */
export interface ClientCertificateRequest {
  secret: string;
  policy: Omit<ClientCertificatePolicy, 'authority' | 'source'>;
}

export interface ParsedClientCertificates {
  request?: ClientCertificateRequest;
  /** Annotations whose value does not parse: every route of the Ingress's hosts answers 503. */
  malformed: UnenforcedGuard[];
  consumed: Set<string>;
  problems: { code: 'AccessControlNotEnforced'; message: string }[];
}

/** The auth-tls-* annotations of one Ingress. Only read when auth-tls-secret is set: without it ingress-nginx
 * ignores the others, and Portico keeps them as guards it does not enforce (503). */
export function parseClientCertificateAnnotations(annotations: Fields): ParsedClientCertificates {
  const out: ParsedClientCertificates = { malformed: [], consumed: new Set(), problems: [] };
  if (!Object.hasOwn(annotations, AUTH_TLS_SECRET)) return out;
  const present = KEYS.filter((k) => Object.hasOwn(annotations, k));
  for (const k of present) out.consumed.add(k);
  let ok = true;
  const fail = (key: string, why: string): void => {
    ok = false;
    out.malformed.push({ key, scope: 'hosts' });
    out.problems.push({
      code: 'AccessControlNotEnforced',
      message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}: ${why}, so every route of this Ingress's hosts answers 503 (fail closed) instead of serving without the client certificate check`,
    });
  };
  const text = (k: string): string | undefined => {
    const v = annotations[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      fail(k, 'it is not text');
      return undefined;
    }
    return v.trim();
  };

  const secret = text(AUTH_TLS_SECRET);
  if (secret !== undefined && secretRef(secret) === null) fail(AUTH_TLS_SECRET, 'it is not the name of a Secret, or namespace/name');

  let verify: ClientCertificateVerify = 'on';
  const v = text(VERIFY_CLIENT);
  if (v !== undefined) {
    if (CLIENT_CERTIFICATE_VERIFY.includes(v as ClientCertificateVerify)) verify = v as ClientCertificateVerify;
    else fail(VERIFY_CLIENT, `it is not one of ${CLIENT_CERTIFICATE_VERIFY.join(', ')}`);
  }

  // ingress-nginx: 0 (or nothing) means the default depth, 1.
  let depth = 1;
  const d = text(VERIFY_DEPTH);
  if (d !== undefined) {
    const n = /^\d{1,3}$/.test(d) ? Number(d) : Number.NaN;
    if (!Number.isInteger(n) || n > MAX_VERIFY_DEPTH) fail(VERIFY_DEPTH, `it is not a whole number from 0 to ${MAX_VERIFY_DEPTH}`);
    else if (n > 0) depth = n;
  }

  const errorPage = text(ERROR_PAGE);
  if (errorPage !== undefined && errorPage !== '') {
    const why = errorPageProblem(errorPage);
    if (why !== null) fail(ERROR_PAGE, why);
  }

  let passCertificate = false;
  const p = text(PASS_CERTIFICATE);
  if (p !== undefined) {
    const b = goBool(p);
    if (b === undefined) fail(PASS_CERTIFICATE, 'it is not "true" or "false"');
    else passCertificate = b;
  }

  const matchCn = text(MATCH_CN);
  if (matchCn !== undefined && matchCn !== '') {
    const why = matchCnProblem(matchCn);
    if (why !== null) fail(MATCH_CN, why);
  }

  if (!ok || secret === undefined) return out;
  out.request = {
    secret,
    policy: {
      verify,
      depth,
      passCertificate,
      ...(errorPage === undefined || errorPage === '' ? {} : { errorPage }),
      ...(matchCn === undefined || matchCn === '' ? {} : { matchCn }),
    },
  };
  return out;
}

type Loaded = { ok: true; authority: ClientCertificateAuthority } | { ok: false; code: 'SecretNotFound' | 'SecretInvalid'; why: string };

/** The Secret's `ca.crt` (required) and `ca.crl` (optional), checked the way the worker will load them. */
function loadAuthority(secret: ObjectInfo, id: string): Loaded {
  const s = fields(secret.raw);
  const ca = secretValue(s, 'ca.crt');
  if (ca === null) return { ok: false, code: 'SecretInvalid', why: `Secret ${id} has no key "ca.crt" (the certificate authorities)` };
  if ('error' in ca) return { ok: false, code: 'SecretInvalid', why: `Secret ${id}: ${ca.error}` };
  const pems = ca.value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) return { ok: false, code: 'SecretInvalid', why: `Secret ${id}: "ca.crt" holds no PEM certificate` };
  for (const [i, pem] of pems.entries()) {
    try {
      new X509Certificate(pem);
    } catch (err) {
      return {
        ok: false,
        code: 'SecretInvalid',
        why: `Secret ${id}: certificate ${i + 1} of "ca.crt" does not parse (${(err as Error).message})`,
      };
    }
  }
  const crl = secretValue(s, 'ca.crl');
  if (crl !== null && 'error' in crl) return { ok: false, code: 'SecretInvalid', why: `Secret ${id}: ${crl.error}` };
  const authority: ClientCertificateAuthority = { id, caPem: `${pems.join('\n')}\n`, ...(crl === null ? {} : { crlPem: crl.value }) };
  try {
    createSecureContext({ ca: authority.caPem, ...(authority.crlPem === undefined ? {} : { crl: authority.crlPem }) });
  } catch (err) {
    return {
      ok: false,
      code: 'SecretInvalid',
      why: `Secret ${id}: the authorities or revocation list cannot be loaded (${(err as Error).message})`,
    };
  }
  return { ok: true, authority };
}

export interface ResolvedClientCertificates {
  /** By host: the policy of the oldest Ingress on the host that asks for client certificates. */
  hosts: Map<string, ClientCertificatePolicy>;
  authorities: ClientCertificateAuthority[];
}

const sameRequest = (a: ClientCertificatePolicy, b: ClientCertificatePolicy): boolean =>
  JSON.stringify({ ...a, source: null }) === JSON.stringify({ ...b, source: null });

/**
 * The host policies and the authorities they use. An Ingress whose Secret cannot be used gets auth-tls-secret as
 * a guard of its hosts instead (every route there answers 503). On a host, the oldest Ingress's settings apply;
 * a younger Ingress that asks for different ones is told so (ingress-nginx takes the first one it sees, silently).
 */
export function resolveClientCertificates(
  plans: readonly IngressPlan[],
  secrets: readonly unknown[],
  reportFor: (p: IngressPlan) => Report,
): ResolvedClientCertificates {
  const index = indexByName(secrets);
  const loaded = new Map<string, Loaded>();
  const hosts = new Map<string, ClientCertificatePolicy>();
  const used = new Map<string, ClientCertificateAuthority>();
  for (const plan of plans) {
    const request = plan.clientCertificate;
    if (request === undefined) continue;
    const report = reportFor(plan);
    const closed = (code: 'SecretNotFound' | 'SecretInvalid' | 'AccessControlNotEnforced', why: string): void => {
      report(
        code,
        `${why}; every route of this Ingress's hosts answers 503 (fail closed) instead of serving without the client certificate check`,
      );
      plan.clientCertificate = undefined;
      plan.guards.push({ key: AUTH_TLS_SECRET, scope: 'hosts' });
    };
    const ref = secretRef(request.secret)!; // parseClientCertificateAnnotations kept only values that name a Secret
    const [ns, name] = [ref.namespace ?? plan.ref.namespace, ref.name];
    if (ns !== plan.ref.namespace) {
      // As for auth-secret: ingress-nginx refuses another namespace's Secret unless the controller's
      // allow-cross-namespace-resources is on, and it is off by default.
      closed(
        'AccessControlNotEnforced',
        `${JSON.stringify(AUTH_TLS_SECRET)} names Secret ${ns}/${name} of another namespace, which is not allowed`,
      );
      continue;
    }
    const id = `${ns}/${name}`;
    let l = loaded.get(id);
    if (l === undefined) {
      const secret = index.get(id);
      l =
        secret === undefined
          ? { ok: false, code: 'SecretNotFound', why: `Secret ${id} named by ${JSON.stringify(AUTH_TLS_SECRET)} does not exist` }
          : loadAuthority(secret, id);
      loaded.set(id, l);
    }
    if (!l.ok) {
      closed(l.code, l.why);
      continue;
    }
    used.set(id, l.authority);
    const source: ObjectRef = { namespace: plan.ref.namespace, name: plan.ref.name };
    const policy: ClientCertificatePolicy = { authority: id, ...request.policy, source };
    for (const host of plan.hosts) {
      const first = hosts.get(host);
      if (first === undefined) {
        hosts.set(host, policy);
        continue;
      }
      if (!sameRequest(first, policy))
        report(
          'ClientCertificateConflict',
          `host ${JSON.stringify(host)} already checks client certificates as Ingress ${first.source.namespace}/${first.source.name} (older) asks; this Ingress's different auth-tls-* settings do not apply there (client certificates are checked per host, in the TLS handshake)`,
        );
    }
  }
  // Only the authorities a host uses go into the table.
  const usedIds = new Set([...hosts.values()].map((p) => p.authority));
  return { hosts, authorities: [...used.values()].filter((a) => usedIds.has(a.id)) };
}
