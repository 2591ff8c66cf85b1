// Digest authentication at the edge (ingress-nginx's auth-type digest), as nginx-http-auth-digest checks it
// (atomx's fork, ngx_http_auth_digest_module.c, which ingress-nginx builds in): RFC 2617 §3.2.2 with qop=auth
// and MD5, against the htdigest HA1s of the route's Secret (only the lines of the route's realm: see
// sync/compile/basic-auth.ts). What a client sees is the module's:
// - the challenge, `WWW-Authenticate: Digest algorithm="MD5", qop="auth", realm="<realm>", nonce="<nonce>"`, with
//   `, stale="true"` when the response was right but the nonce is too old or its nonce count used up;
// - `Authorization` must carry username, realm, nonce, uri, qop, nc, cnonce and response (RFC 2069 answers without
//   qop get a new challenge), its uri must be the request's (or the request's up to its `?`);
// - a nonce answers for auth_digest_timeout (60 s) until its first use, then for auth_digest_expires (10 s); each
//   nonce count below auth_digest_replays (20) once; the module's defaults, which ingress-nginx does not change;
// - after auth_digest_maxtries (5) failures from an address within auth_digest_evasion_time (300 s), 401 without
//   a challenge until that time has passed since the last failure;
// - on success `Authentication-Info: qop="auth", rspauth="...", cnonce="...", nc=...` (RFC 2617 §3.2.3).
//
// Nonces are stateless where the module keeps them in shared memory: a nonce is a random value and the time,
// authenticated by an HMAC under a key every worker of the cluster derives from the table decryption key
// (nonceKeyFrom), so a nonce issued by one worker process is accepted by another. What cannot be stateless is
// replay protection: the nonce counts already used are kept per process (NonceUses, bounded), so a replayed
// request sent to another process than the first is accepted there once more; nginx's shared memory covers the
// workers of one pod only, so an nginx replica behind a load balancer has the same gap between replicas.
import { Buffer } from 'node:buffer';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { BasicAuthMaterial, BasicAuthPolicy } from '../table/basic-auth.ts';

/** The module's defaults (ngx_http_auth_digest_merge_loc_conf), in milliseconds where they are times. */
export const DIGEST_DEFAULTS = {
  /** auth_digest_timeout: how long a nonce answers before its first use. */
  timeoutMs: 60_000,
  /** auth_digest_expires: how long a nonce answers after its first use. */
  expiresMs: 10_000,
  /** auth_digest_replays: nonce counts 0 to replays-1 are accepted, each once. */
  replays: 20,
  /** auth_digest_maxtries / auth_digest_evasion_time: failures that lock an address out, and for how long. */
  maxTries: 5,
  evasionMs: 300_000,
} as const;

/** The fields of an `Authorization: Digest ...` header the module requires (opaque is ignored, as there). */
export interface DigestCredentials {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  qop: string;
  nc: string;
  cnonce: string;
  response: string;
}

const REQUIRED = ['username', 'realm', 'nonce', 'uri', 'qop', 'nc', 'cnonce', 'response'] as const;
/** RFC 7230 token characters, and a parameter `name=token` or `name="quoted string"` (quoted-pair allowed). */
const PARAM =
  /^[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*=[ \t]*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"((?:[ !#-[\]-~\u0080-\uffff]|\\[ -~])*)")[ \t]*(?:,|$)/;

/** The credentials of an `Authorization: Digest ...` header (RFC 2617 §3.2.2), or null when it is not one or
 * lacks a required field; a repeated parameter: the last counts, as the module's parser keeps it. */
export function digestCredentials(header: string | null): DigestCredentials | null {
  if (header === null) return null;
  const scheme = /^[ \t]*digest[ \t]+/i.exec(header);
  if (scheme === null) return null;
  let rest = header.slice(scheme[0].length);
  const found: Partial<Record<string, string>> = {};
  while (rest.replace(/^[ \t,]+/, '') !== '') {
    rest = rest.replace(/^[ \t,]+/, '');
    const m = PARAM.exec(rest);
    if (m === null) return null;
    found[m[1]!.toLowerCase()] = m[2] ?? m[3]!.replace(/\\(.)/g, '$1');
    rest = rest.slice(m[0].length);
  }
  const out: Partial<DigestCredentials> = {};
  for (const k of REQUIRED) {
    const v = found[k];
    if (v === undefined || v === '') return null;
    out[k] = v;
  }
  return out as DigestCredentials;
}

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** The response a client computes (RFC 2617 §3.2.2.1, qop=auth, algorithm MD5): MD5(HA1:nonce:nc:cnonce:qop:HA2),
 * HA2 = MD5(method:uri). `method` "" gives the rspauth of Authentication-Info (§3.2.3: HA2 = MD5(":" uri)). */
export function digestResponse(ha1: string, c: Omit<DigestCredentials, 'username' | 'realm' | 'response'>, method: string): string {
  return md5(`${ha1}:${c.nonce}:${c.nc}:${c.cnonce}:${c.qop}:${md5(`${method}:${c.uri}`)}`);
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The HMAC key of nonces, from the cluster's shared table decryption key (a domain-separated HMAC of it: the
 * decryption key itself never signs anything else). */
export function nonceKeyFrom(decryptionKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', decryptionKey).update('portico digest-auth nonce key v1').digest());
}

let processKey: Uint8Array | null = null;
/** Without the cluster's key (`portico local`, Deno, workerd): a random key of this process. */
function ownKey(): Uint8Array {
  processKey ??= crypto.getRandomValues(new Uint8Array(32));
  return processKey;
}

/** A nonce: 8 hex digits of randomness and 8 of the issue time in seconds (the module's own 16-digit form), then
 * 32 hex digits of HMAC-SHA256 over those 16 under the nonce key. */
const NONCE = /^([0-9a-f]{8})([0-9a-f]{8})([0-9a-f]{32})$/;

function nonceMac(key: Uint8Array, head: string): string {
  return createHmac('sha256', key).update(head).digest('hex').slice(0, 32);
}

export function issueNonce(key: Uint8Array, nowMs: number): string {
  const rnd = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(16).padStart(8, '0');
  const t = Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, '0');
  return `${rnd}${t}${nonceMac(key, rnd + t)}`;
}

/** The issue time in ms of a nonce this key made, or null (not one: forged, another cluster's, malformed). */
export function nonceIssuedAt(key: Uint8Array, nonce: string): number | null {
  const m = NONCE.exec(nonce);
  if (m === null || !sameText(nonceMac(key, m[1]! + m[2]!), m[3]!)) return null;
  return Number.parseInt(m[2]!, 16) * 1000;
}

/**
 * The nonce counts used, per nonce, in this process: the module's per-nonce bit vector (and its first-use time,
 * from which the nonce answers for `expiresMs` more). Bounded: when full, the entry first used longest ago goes,
 * and every nonce issued no later than the evicted one is treated as stale from then on (`floorMs`), so an
 * eviction can never make a used nonce count usable again.
 */
export class NonceUses {
  private readonly entries = new Map<string, { firstUse: number; issued: number; used: Set<number> }>();
  private floorMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxEntries = 100_000) {}

  /** Records one use; 'stale' when the nonce no longer answers, 'replay' when that count was used. */
  use(nonce: string, issued: number, nc: number, now: number, limits = DIGEST_DEFAULTS): 'ok' | 'stale' | 'replay' {
    const e = this.entries.get(nonce);
    if (e === undefined) {
      if (issued <= this.floorMs || now >= issued + limits.timeoutMs) return 'stale';
      // Entries that can never answer again go first (the time checks refuse their nonces without them).
      for (const [k, v] of this.entries) {
        if (now < v.firstUse + limits.expiresMs || now < v.issued + limits.timeoutMs) break;
        this.entries.delete(k);
      }
      if (this.entries.size >= this.maxEntries) {
        const [oldest, v] = this.entries.entries().next().value!;
        this.entries.delete(oldest);
        this.floorMs = Math.max(this.floorMs, v.issued);
      }
      this.entries.set(nonce, { firstUse: now, issued, used: new Set([nc]) });
      return 'ok';
    }
    if (now >= e.firstUse + limits.expiresMs) {
      // Used up: it never answers again, so its entry can go (the issue-time check refuses it from now on).
      if (now >= issued + limits.timeoutMs) this.entries.delete(nonce);
      return 'stale';
    }
    // The module flags the first use with count 0's bit, so count 0 is only ever accepted on a first use.
    if (nc === 0 || e.used.has(nc)) return 'replay';
    e.used.add(nc);
    return 'ok';
  }

  get size(): number {
    return this.entries.size;
  }
}

/** auth_digest_maxtries within auth_digest_evasion_time, per client address, in this process; bounded. */
export class DigestFailures {
  private readonly entries = new Map<string, { count: number; until: number }>();

  constructor(private readonly maxEntries = 10_000) {}

  locked(address: string, now: number, limits = DIGEST_DEFAULTS): boolean {
    const e = this.entries.get(address);
    return e !== undefined && e.count >= limits.maxTries && now < e.until;
  }

  record(address: string, ok: boolean, now: number, limits = DIGEST_DEFAULTS): void {
    const e = this.entries.get(address);
    if (ok) {
      this.entries.delete(address);
      return;
    }
    // Outside the window the count starts again at 1 (ngx_http_auth_digest_evasion_tracking).
    const count = e === undefined || now > e.until ? 1 : e.count + 1;
    this.entries.delete(address);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(address, { count, until: now + limits.evasionMs });
  }
}

export interface DigestState {
  key: Uint8Array;
  uses: NonceUses;
  failures: DigestFailures;
  now(): number;
}

const processState: Omit<DigestState, 'key'> = { uses: new NonceUses(), failures: new DigestFailures(), now: Date.now };

/** This process's state, with the cluster's nonce key when there is one. */
export function digestState(key?: Uint8Array): DigestState {
  return { ...processState, key: key ?? ownKey() };
}

export interface DigestRequest {
  method: string;
  /** The request target as sent: path and query (nginx's $request_uri / r->unparsed_uri). */
  uri: string;
  clientIp: string;
  authorization: string | null;
}

export type DigestVerdict =
  | { kind: 'pass'; headers: [string, string][] }
  | { kind: 'respond'; status: 401 | 503; headers: [string, string][] };

const quoted = (s: string): string => s.replace(/[\\"]/g, '\\$&');

/** The verdict for one request. Without the route's material (it never came, or another revision): 503. */
export function digestAuthVerdict(
  p: BasicAuthPolicy,
  r: DigestRequest,
  material: ReadonlyMap<string, BasicAuthMaterial> | undefined,
  state: DigestState,
): DigestVerdict {
  const m = material?.get(p.revision);
  if (m === undefined || m.scheme !== 'digest') return { kind: 'respond', status: 503, headers: [] };
  const now = state.now();
  // ngx_http_auth_digest_evading: a locked-out address gets 401 with no challenge, before anything else.
  if (state.failures.locked(r.clientIp, now)) return { kind: 'respond', status: 401, headers: [] };
  const challenge = (stale: boolean): DigestVerdict => ({
    kind: 'respond',
    status: 401,
    headers: [
      [
        'www-authenticate',
        `Digest algorithm="MD5", qop="auth", realm="${p.realm}", nonce="${issueNonce(state.key, now)}"${stale ? ', stale="true"' : ''}`,
      ],
    ],
  });
  const c = digestCredentials(r.authorization);
  // No (usable) credentials: a challenge, not a failure.
  if (c === null) return challenge(false);
  const fail = (stale: boolean): DigestVerdict => {
    state.failures.record(r.clientIp, false, now);
    return challenge(stale);
  };
  // The uri must be the request's, or the request's up to its `?` (the module's allowance for .NET clients).
  const uriOk = c.uri === r.uri || (r.uri.startsWith(c.uri) && r.uri[c.uri.length] === '?');
  const entry = m.users.find((u) => u.user === c.username);
  // An unknown user costs the same hashing as a wrong response (against a stand-in HA1), so the answer's timing
  // does not tell which user names exist.
  const ha1 = entry?.hash ?? '0'.repeat(32);
  const expected = digestResponse(ha1, c, r.method);
  const matches = sameText(expected, c.response) && sameText(c.realm, p.realm);
  if (entry === undefined || !matches || !uriOk || c.qop !== 'auth') return fail(false);
  // The nonce and its count are checked once the response is right, as the module does: stale="true" tells a
  // client that knew the password to retry with the new nonce without asking its user (RFC 2617 §3.2.1).
  if (!/^[0-9a-fA-F]{1,8}$/.test(c.nc)) return fail(true);
  const nc = Number.parseInt(c.nc, 16);
  if (nc >= DIGEST_DEFAULTS.replays) return fail(true);
  const issued = nonceIssuedAt(state.key, c.nonce);
  if (issued === null) return fail(false);
  const use = state.uses.use(c.nonce, issued, nc, now);
  if (use !== 'ok') return fail(use === 'stale');
  state.failures.record(r.clientIp, true, now);
  const rspauth = digestResponse(ha1, c, '');
  return {
    kind: 'pass',
    headers: [['authentication-info', `qop="auth", rspauth="${rspauth}", cnonce="${quoted(c.cnonce)}", nc=${c.nc}`]],
  };
}
