// Basic authentication (ingress-nginx's auth-type, auth-secret, auth-secret-type, auth-realm): the annotations
// become the route's policy, the Secret's entries become material beside the table (never in it; see
// gateway/table/basic-auth.ts). Read as ingress-nginx's auth parser reads them
// (internal/ingress/annotations/auth/main.go): auth-type `basic` or `digest`, auth-secret `name` or
// `namespace/name`, auth-secret-type `auth-file` (default: key `auth`, htpasswd lines) or `auth-map` (each key a
// user, its value the hash), auth-realm as written. A Secret that is missing, in another namespace or without an
// `auth` key denies the location there (503); so it does here, with a diagnostic.
//
// auth-type digest: the Secret is an htdigest file (`user:realm:HA1`, HA1 = MD5(user:realm:password), as
// `htdigest` writes it), read by nginx-http-auth-digest (atomx's fork, ngx_http_auth_digest_module.c). Only the
// lines of the auth-realm are kept: a line of another realm never matches a client that answered this realm's
// challenge, so it is reported and left out of the material.
import {
  type BasicAuthMaterial,
  type BasicAuthPolicy,
  type BasicAuthSecretType,
  type BasicAuthUser,
  basicAuthRevision,
  HA1,
  hashFormat,
  MAX_BASIC_AUTH_USERS,
  realmProblem,
} from '../../gateway/table/basic-auth.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { Report } from './diagnostics.ts';
import type { IngressPlan } from './ingress.ts';
import { compareStrings, fields, indexByName, type Fields, type ObjectInfo } from './objects.ts';
import type { ReportFor } from './routes.ts';
import { secretValue } from './tls.ts';

export const AUTH_TYPE = `${NGINX_PREFIX}auth-type`;
export const AUTH_SECRET = `${NGINX_PREFIX}auth-secret`;
const AUTH_SECRET_TYPE = `${NGINX_PREFIX}auth-secret-type`;
const AUTH_REALM = `${NGINX_PREFIX}auth-realm`;

/** A Kubernetes object name (DNS subdomain) and namespace (DNS label). */
const NAME = /^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An auth-secret value, `name` or `namespace/name` (no namespace: the Ingress's own), or null when it names no
 * Secret. The compiler and the agent's Secret reader read it the same way. */
export function secretRef(value: string): { namespace?: string; name: string } | null {
  const parts = value.split('/');
  if (parts.length === 1) return NAME.test(value) ? { name: value } : null;
  return parts.length === 2 && NAMESPACE.test(parts[0]!) && NAME.test(parts[1]!) ? { namespace: parts[0]!, name: parts[1]! } : null;
}

/**
 * auth-type and its companions → the policy, with `secret` as written and no revision yet (resolveBasicAuth
 * completes both once the Secrets are known). Only read when auth-type is set: without it ingress-nginx ignores
 * the companions, and Portico keeps them as guards it does not enforce (503).
 */
export function parseBasicAuth(
  annotations: Fields,
  consume: (key: string) => void,
  fail: (key: string, why: string) => void,
): { policy: BasicAuthPolicy; keys: string[] } | null {
  const has = (k: string): boolean => Object.hasOwn(annotations, k);
  const keys = [AUTH_TYPE, AUTH_SECRET, AUTH_SECRET_TYPE, AUTH_REALM].filter(has);
  for (const k of keys) consume(k);
  const value = (k: string): string | undefined => (typeof annotations[k] === 'string' ? (annotations[k] as string).trim() : undefined);
  const type = value(AUTH_TYPE);
  if (type !== 'basic' && type !== 'digest') {
    fail(AUTH_TYPE, 'it is not "basic" or "digest"');
    return null;
  }
  const secret = value(AUTH_SECRET);
  if (secret === undefined || secret === '') {
    fail(AUTH_TYPE, `${JSON.stringify(AUTH_SECRET)} is not set, and ${type} authentication needs the Secret that holds the users`);
    return null;
  }
  if (secretRef(secret) === null) {
    fail(AUTH_SECRET, 'it is not the name of a Secret, or namespace/name');
    return null;
  }
  let secretType: BasicAuthSecretType = 'auth-file';
  if (has(AUTH_SECRET_TYPE)) {
    const t = value(AUTH_SECRET_TYPE);
    if (t !== 'auth-file' && t !== 'auth-map') {
      fail(AUTH_SECRET_TYPE, 'it is not "auth-file" or "auth-map"');
      return null;
    }
    secretType = t;
  }
  const realm = has(AUTH_REALM) ? (typeof annotations[AUTH_REALM] === 'string' ? (annotations[AUTH_REALM] as string) : null) : '';
  const realmWhy = realm === null ? 'it is not text' : realmProblem(realm);
  if (realm === null || realmWhy !== null) {
    fail(AUTH_REALM, realmWhy ?? 'it is not text');
    return null;
  }
  if (type === 'basic') return { policy: { realm, secret, type: secretType, revision: '' }, keys };
  // nginx-http-auth-digest turns itself off for the realm "" (ingress-nginx's default) and "off"
  // (ngx_http_auth_digest_handler returns NGX_DECLINED: the location is served without authentication).
  // Portico never serves such a route open: 503 instead.
  if (realm === '' || realm === 'off') {
    fail(
      has(AUTH_REALM) ? AUTH_REALM : AUTH_TYPE,
      `digest authentication needs ${JSON.stringify(AUTH_REALM)} (not "" or "off", which switch nginx's digest module off and leave the location open)`,
    );
    return null;
  }
  return { policy: { realm, secret, type: secretType, revision: '', scheme: 'digest' }, keys };
}

type Loaded = { ok: true; material: BasicAuthMaterial } | { ok: false; code: 'SecretNotFound' | 'SecretInvalid'; why: string };

/** One htpasswd entry (`user:hash`, anything after a second `:` is a comment, as nginx reads it) → the user, or
 * why it cannot log in. `where` names the line or key, never the user or the hash: diagnostics are stored and
 * shown in plaintext (Events, the Redis table's diagnostics), the entries never are. */
function entry(user: string, hash: string, where: string, report: (why: string) => void): BasicAuthUser | null {
  if (user === '') {
    report(`${where} has no user name`);
    return null;
  }
  if (hash === '') {
    report(`${where} has no password hash, so that user can never log in`);
    return null;
  }
  if (hashFormat(hash) === null) {
    report(
      `${where} has a password hash in a format Portico cannot check (it checks bcrypt $2a$/$2b$/$2y$, {SHA}, {SSHA}, $apr1$ and $1$), so that user can never log in`,
    );
    return null;
  }
  return { user, hash };
}

/** One htdigest entry's `realm:HA1` (after the user and its `:`; a third `:` starts a comment, as the module
 * stops the HA1 there) → the user, or why it cannot log in. As entry(): `where` never shows the user or the HA1. */
function digestEntry(user: string, rest: string, realm: string, where: string, report: (why: string) => void): BasicAuthUser | null {
  if (user === '') {
    report(`${where} has no user name`);
    return null;
  }
  const colon = rest.indexOf(':');
  if (colon < 0) {
    report(`${where} is not "user:realm:HA1" (htdigest)`);
    return null;
  }
  const ha1 = rest.slice(colon + 1).split(':')[0]!;
  // nginx-http-auth-digest compares the HA1 it computes as lower-case hex; upper-case digits would never match.
  if (!HA1.test(ha1)) {
    report(`${where} has no HA1 of 32 lower-case hex digits (MD5 of user:realm:password), so that user can never log in`);
    return null;
  }
  if (rest.slice(0, colon) !== realm) {
    report(`${where} is for another realm than ${JSON.stringify(AUTH_REALM)}, so that user can never log in here`);
    return null;
  }
  return { user, hash: ha1 };
}

function loadAuthSecret(secret: ObjectInfo, id: string, policy: BasicAuthPolicy, warn: (why: string) => void): Loaded {
  const s = fields(secret.raw);
  const users: BasicAuthUser[] = [];
  const type = policy.type;
  const digest = policy.scheme === 'digest';
  if (type === 'auth-file') {
    const v = secretValue(s, 'auth');
    if (v === null)
      return { ok: false, code: 'SecretInvalid', why: `Secret ${id} has no key "auth" (the ${digest ? 'htdigest' : 'htpasswd'} file)` };
    if ('error' in v) return { ok: false, code: 'SecretInvalid', why: `Secret ${id}: ${v.error}` };
    for (const [i, raw] of v.value.split('\n').entries()) {
      const line = raw.replace(/\r$/, '');
      if (line.trim() === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      const where = `line ${i + 1} of key "auth"`;
      if (colon < 0) {
        warn(`${where} is not ${digest ? '"user:realm:HA1"' : '"user:hash"'}`);
        continue;
      }
      const u = digest
        ? digestEntry(line.slice(0, colon), line.slice(colon + 1), policy.realm, where, warn)
        : entry(line.slice(0, colon), line.slice(colon + 1).split(':')[0]!, where, warn);
      if (u !== null) users.push(u);
    }
  } else {
    const keys = new Set([...Object.keys(fields(s.data)), ...Object.keys(fields(s.stringData))]);
    for (const [i, user] of [...keys].sort(compareStrings).entries()) {
      const v = secretValue(s, user);
      const where = `key ${i + 1} (in key order)`;
      if (v === null) continue;
      if ('error' in v) {
        warn(`${where} is not base64`);
        continue;
      }
      // ingress-nginx writes `key:value` lines; the value's first line up to a `:` is what nginx reads as the hash
      // (for digest: `realm:HA1`).
      const first = v.value.split('\n')[0]!.replace(/\r$/, '');
      const name = user.includes(':') ? '' : user;
      const u = digest ? digestEntry(name, first, policy.realm, where, warn) : entry(name, first.split(':')[0]!, where, warn);
      if (u !== null) users.push(u);
    }
  }
  if (users.length > MAX_BASIC_AUTH_USERS)
    return { ok: false, code: 'SecretInvalid', why: `Secret ${id} has ${users.length} users (at most ${MAX_BASIC_AUTH_USERS})` };
  const seen = new Set<string>();
  // nginx reads the file top down and stops at the first line with the user: later duplicates never count.
  const kept = users.filter((u) => !seen.has(u.user) && seen.add(u.user));
  return {
    ok: true,
    material: digest ? { secret: id, type, users: kept, scheme: 'digest', realm: policy.realm } : { secret: id, type, users: kept },
  };
}

/**
 * Completes every plan's basic-auth policy from the Secrets: the `namespace/name` reference and the revision of
 * the material, which is returned (one per distinct content). A plan whose Secret cannot be used loses the policy
 * and gets `auth-secret` as a guard instead, so its routes answer 503.
 */
export function resolveBasicAuth(plans: readonly IngressPlan[], secrets: readonly unknown[], reportFor: ReportFor): BasicAuthMaterial[] {
  const index = indexByName(secrets);
  const out = new Map<string, BasicAuthMaterial>();
  for (const plan of plans) {
    const policy = plan.access?.basicAuth;
    if (policy === undefined) continue;
    const report: Report = reportFor(plan);
    const closed = (code: 'SecretNotFound' | 'SecretInvalid' | 'AccessControlNotEnforced', why: string): void => {
      report(
        code,
        `${why}; the routes of this Ingress answer 503 (fail closed) instead of serving without ${policy.scheme ?? 'basic'} authentication`,
      );
      const { basicAuth: _, ...rest } = plan.access!;
      // `satisfy: any` means nothing without an authentication to choose (validate() refuses it alone).
      if (rest.externalAuth === undefined && rest.jwt === undefined) delete rest.satisfy;
      plan.access = Object.keys(rest).length === 0 ? undefined : rest;
      plan.guards.push({ key: AUTH_SECRET, scope: 'routes' });
    };
    const ref = secretRef(policy.secret)!; // parseBasicAuth kept only values that name a Secret
    const [ns, name] = [ref.namespace ?? plan.ref.namespace, ref.name];
    if (ns !== plan.ref.namespace) {
      // ingress-nginx refuses a Secret of another namespace unless the controller's
      // allow-cross-namespace-resources is on, and it is off by default.
      closed(
        'AccessControlNotEnforced',
        `${JSON.stringify(AUTH_SECRET)} names Secret ${ns}/${name} of another namespace, which is not allowed`,
      );
      continue;
    }
    const id = `${ns}/${name}`;
    const secret = index.get(id);
    if (secret === undefined) {
      closed('SecretNotFound', `Secret ${id} named by ${JSON.stringify(AUTH_SECRET)} does not exist`);
      continue;
    }
    const warnings: string[] = [];
    const r = loadAuthSecret(secret, id, policy, (why) => void warnings.push(why));
    if (!r.ok) {
      closed(r.code, r.why);
      continue;
    }
    const scheme = policy.scheme ?? 'basic';
    for (const w of warnings) report('SecretInvalid', `Secret ${id} (${scheme} authentication): ${w}`);
    if (r.material.users.length === 0)
      report('SecretInvalid', `Secret ${id} has no user Portico can check, so every request to this Ingress's routes gets 401`);
    const revision = basicAuthRevision(r.material);
    out.set(revision, r.material);
    plan.access = { ...plan.access, basicAuth: { ...policy, secret: id, revision } };
  }
  return [...out.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, m]) => m);
}
