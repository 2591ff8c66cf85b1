// Basic authentication in the contract: the route's policy names the credentials by a content digest, and the
// credentials themselves (user names and password hashes, from an htpasswd Secret) travel beside the table, as
// certificate private keys do: encrypted in the bundle, never in the table and never in Redis in plaintext.
//
// The digest (`revision`) is what makes a changed Secret a changed table: the table version is the hash of the
// table's content, and publishers and workers compare versions, so a password changed in the Secret must change
// the table. It is a SHA-256 over the secret's id, its type and every (user, hash) entry. It reveals nothing about
// salted hashes (bcrypt, apr1, {SSHA}): guessing a password from it needs the salt, which is only in the
// encrypted material. An unsalted `{SHA}` entry is as guessable from it as from the Secret itself.
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.ts';
import { isRecord } from './names.ts';

export type BasicAuthSecretType = 'auth-file' | 'auth-map';

/** ingress-nginx's auth-type: one annotation group for both schemes (its auth parser reads them together), so one
 * policy and one kind of material here. Absent: basic. `digest`: nginx-http-auth-digest (RFC 2617 with
 * qop=auth), checked by gateway/access/digest-auth.ts; new in schema 4. */
export type AuthScheme = 'digest';

/** ingress-nginx's `auth-type: basic` on a route: a request needs an Authorization header whose user and
 * password match an entry of the Secret, else 401 with `WWW-Authenticate: Basic realm="<realm>"`. */
export interface BasicAuthPolicy {
  /** auth-realm, as written (no `"`, `\` or control characters); "" when not set, as in ingress-nginx. */
  realm: string;
  /** The Secret, `namespace/name`. */
  secret: string;
  /** auth-secret-type: `auth-file` (key `auth`, htpasswd lines) or `auth-map` (each key a user). */
  type: BasicAuthSecretType;
  /** `sha256:` + hex digest of the material (basicAuthRevision): which material the route uses. */
  revision: string;
  /** auth-type digest; absent: basic. For digest the realm is never "" (see sync/compile/basic-auth.ts). */
  scheme?: AuthScheme;
}

export interface BasicAuthUser {
  user: string;
  /** Basic: an htpasswd hash in a format the edge checks (see gateway/access/basic-auth.ts). Digest: the
   * htdigest line's HA1, MD5(user:realm:password) as 32 lower-case hex digits (only lines of the policy's realm). */
  hash: string;
}

/** The credentials of one Secret, as the compiler read them: never part of the table. */
export interface BasicAuthMaterial {
  secret: string;
  type: BasicAuthSecretType;
  /** In the Secret's order; a user named twice: the first entry counts (nginx reads the file top down). */
  users: BasicAuthUser[];
  /** Digest material (htdigest lines of one realm); absent: htpasswd material. */
  scheme?: AuthScheme;
  /** Digest only: the realm the lines were kept for (the lines of other realms never match). */
  realm?: string;
}

const SECRET_REF = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$/;
const REVISION = /^sha256:[0-9a-f]{64}$/;
/** An htdigest HA1: MD5 as hex (nginx-http-auth-digest requires exactly 32 characters). */
export const HA1 = /^[0-9a-f]{32}$/;
/** What an Authorization header could carry anyway; bounds the material a worker accepts. */
export const MAX_BASIC_AUTH_USERS = 10_000;
const MAX_FIELD = 1024;

/** The realm a WWW-Authenticate header can quote as written: printable ASCII without `"` and `\`. */
export function realmProblem(realm: string): string | null {
  if (realm.length > 256) return 'it is longer than 256 characters';
  return /^[\x20-\x7e]*$/.test(realm) && !/["\\]/.test(realm)
    ? null
    : 'it has a character a WWW-Authenticate header cannot quote as written (", \\, a control or non-ASCII character)';
}

function isSecretRef(v: unknown): v is string {
  return typeof v === 'string' && SECRET_REF.test(v);
}

export function basicAuthRevision(m: BasicAuthMaterial): string {
  // The digest fields only when present, so basic material keeps the revision it had before schema 4.
  const digest = m.scheme === undefined ? {} : { scheme: m.scheme, realm: m.realm ?? '' };
  const body = canonicalJson({ secret: m.secret, type: m.type, users: m.users.map((u) => [u.user, u.hash]), ...digest });
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

/** validate() for `policies.access.basicAuth`. */
export function checkBasicAuthPolicy(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!isRecord(v)) return bad(at, 'must be an object');
  if (typeof v.realm !== 'string' || realmProblem(v.realm) !== null) bad(`${at}.realm`, 'must be a realm a header can quote');
  if (!isSecretRef(v.secret)) bad(`${at}.secret`, 'must be namespace/name of a Secret');
  if (v.type !== 'auth-file' && v.type !== 'auth-map') bad(`${at}.type`, 'must be "auth-file" or "auth-map"');
  if (typeof v.revision !== 'string' || !REVISION.test(v.revision)) bad(`${at}.revision`, 'must be sha256: and 64 hex digits');
}

/** The problem with untrusted material (a bundle part, an IPC message), or null. */
export function basicAuthMaterialProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'is not an object';
  if (!isSecretRef(v.secret)) return 'names no Secret';
  if (v.type !== 'auth-file' && v.type !== 'auth-map') return 'has no secret type';
  if (!Array.isArray(v.users) || v.users.length > MAX_BASIC_AUTH_USERS) return `must list at most ${MAX_BASIC_AUTH_USERS} users`;
  const ok = v.users.every(
    (u) =>
      isRecord(u) &&
      typeof u.user === 'string' &&
      typeof u.hash === 'string' &&
      u.user.length > 0 &&
      u.user.length <= MAX_FIELD &&
      !u.user.includes(':') &&
      u.hash.length > 0 &&
      u.hash.length <= MAX_FIELD,
  );
  if (!ok) return 'has a user entry that is not { user, hash } (a user without ":", both at most 1024 characters)';
  if (v.scheme === undefined) return v.realm === undefined ? null : 'has a realm but is not digest material';
  if (v.scheme !== 'digest') return 'has an unknown scheme';
  if (typeof v.realm !== 'string' || v.realm === '' || realmProblem(v.realm) !== null) return 'is digest material without a usable realm';
  return (v.users as BasicAuthUser[]).every((u) => HA1.test(u.hash)) ? null : 'has a digest entry whose HA1 is not 32 hex digits';
}

/** Material by revision, checked; throws on the first bad entry. */
export function basicAuthMaterialMap(list: readonly unknown[]): Map<string, BasicAuthMaterial> {
  const out = new Map<string, BasicAuthMaterial>();
  for (const [i, m] of list.entries()) {
    const problem = basicAuthMaterialProblem(m);
    if (problem !== null) throw new Error(`basic auth material ${i} ${problem}`);
    const material = m as BasicAuthMaterial;
    out.set(basicAuthRevision(material), material);
  }
  return out;
}

export type HashFormat = 'bcrypt' | 'sha1' | 'ssha' | 'apr1' | 'md5-crypt';

/** The highest bcrypt cost the edge checks. Each step doubles the work: cost 12 takes about 0.35 s of one core
 * here, cost 13 0.7 s, cost 31 days; a cost above this in a Secret would let any request with that user name
 * stall the worker every tenant shares, so such an entry is unusable (htpasswd's default is 5, its maximum 17). */
const MAX_BCRYPT_COST = 12;

/** The htpasswd hash formats the edge checks, by their prefix (as nginx's ngx_crypt and the system crypt()
 * of ingress-nginx's image recognise them). null: a format Portico cannot check (DES crypt, `$5$`/`$6$`
 * SHA-crypt, `{PLAIN}`, a bcrypt cost above MAX_BCRYPT_COST, anything else), so that user can never log in. */
export function hashFormat(hash: string): HashFormat | null {
  const bcrypt = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  if (bcrypt !== null) return Number(bcrypt[1]) >= 4 && Number(bcrypt[1]) <= MAX_BCRYPT_COST ? 'bcrypt' : null;
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^\{SSHA\}[A-Za-z0-9+/]{28,}={0,2}$/.test(hash)) return 'ssha';
  if (/^\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  if (/^\$1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'md5-crypt';
  return null;
}
