// Basic authentication at the edge, as nginx's auth_basic checks it (ingress-nginx's auth-type basic): the
// Authorization header's user and password against the route's htpasswd entries; anything else is 401 with
// `WWW-Authenticate: Basic realm="..."`. Hashes are checked as nginx's ngx_crypt does: {SHA} and {SSHA} itself,
// `$apr1$` (and `$1$`) by the MD5-crypt algorithm, bcrypt through the system crypt() of ingress-nginx's image.
// Pure JavaScript everywhere (node:crypto, bcryptjs, apache-md5), so Node, Deno and workerd check the same way.
import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { ExpiringCache } from '../shared/expiring-cache.ts';
import { type BasicAuthMaterial, type BasicAuthPolicy, hashFormat } from '../table/basic-auth.ts';

/** The user and password of an `Authorization: Basic ...` header (RFC 7617), or null. */
export function basicCredentials(header: string | null): { user: string; password: string } | null {
  if (header === null) return null;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (m === null) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

let apacheMd5: ((password: string, salt: string) => string) | null = null;

/** Whether `password` matches `hash`. A format Portico cannot check never matches. */
export async function checkPassword(password: string, hash: string): Promise<boolean> {
  switch (hashFormat(hash)) {
    case 'bcrypt':
      return bcrypt.compare(password, hash);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    case 'ssha': {
      // {SSHA}: base64 of SHA-1(password + salt) followed by the salt.
      const raw = Buffer.from(hash.slice(6), 'base64');
      if (raw.length <= 20) return false;
      const digest = createHash('sha1').update(password).update(raw.subarray(20)).digest();
      return timingSafeEqual(digest, raw.subarray(0, 20));
    }
    case 'apr1':
    case 'md5-crypt': {
      // Loaded on first use: only routes with such hashes pay for it.
      if (apacheMd5 === null) {
        // A CommonJS module: its default export is the function (the package's typings say otherwise).
        const fn: unknown = (await import('apache-md5')).default;
        if (typeof fn !== 'function') return false;
        apacheMd5 = fn as (password: string, salt: string) => string;
      }
      return sameText(apacheMd5(password, hash), hash);
    }
    default:
      return false;
  }
}

/**
 * Successful checks, for a while: bcrypt is slow by design (tens of milliseconds at cost 10), and a browser sends
 * the same header with every request. Keyed by a SHA-256 of (revision, user, password), never the password: the
 * revision covers the Secret's id and every hash, so a changed Secret never reuses an old answer. Per process,
 * bounded in size (the oldest entry goes first) and in time.
 */
export class BasicAuthCache extends ExpiringCache<true> {
  constructor(
    maxEntries = 10_000,
    private readonly ttlMs = 60_000,
    now: () => number = Date.now,
  ) {
    super(maxEntries, now);
  }

  static key(revision: string, user: string, password: string): string {
    // Each field with its length in front: no two (user, password) pairs hash the same input.
    const h = createHash('sha256');
    for (const f of [revision, user, password]) h.update(`${Buffer.byteLength(f)}:`).update(f);
    return h.digest('base64');
  }

  has(key: string): boolean {
    return this.get(key) === true;
  }

  add(key: string): void {
    this.set(key, true, this.ttlMs);
  }
}

const processCache = new BasicAuthCache();

export type BasicAuthVerdict = { kind: 'pass' } | { kind: 'respond'; status: 401 | 503; headers: [string, string][] };

/** The verdict for one request. `material` is what came with the table the request was routed by; without the
 * route's material (it never came, or another revision) the answer is 503: fail closed. */
export async function basicAuthVerdict(
  p: BasicAuthPolicy,
  authorization: string | null,
  material: ReadonlyMap<string, BasicAuthMaterial> | undefined,
  cache: BasicAuthCache = processCache,
): Promise<BasicAuthVerdict> {
  const m = material?.get(p.revision);
  if (m === undefined) return { kind: 'respond', status: 503, headers: [] };
  const refuse: BasicAuthVerdict = { kind: 'respond', status: 401, headers: [['www-authenticate', `Basic realm="${p.realm}"`]] };
  const c = basicCredentials(authorization);
  if (c === null) return refuse;
  const entry = m.users.find((u) => u.user === c.user);
  if (entry === undefined) {
    // An unknown user costs the same hash check as a wrong password (against another entry of the same Secret, so
    // the same format and cost), and is refused whatever it returns: the answer's timing does not tell a client
    // which user names exist. nginx answers unknown users at once; this is stricter on purpose.
    const standIn = m.users[0];
    if (standIn !== undefined) await checkPassword(c.password, standIn.hash);
    return refuse;
  }
  const key = BasicAuthCache.key(p.revision, c.user, c.password);
  if (cache.has(key)) return { kind: 'pass' };
  if (!(await checkPassword(c.password, entry.hash))) return refuse;
  cache.add(key);
  return { kind: 'pass' };
}
