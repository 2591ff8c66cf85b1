// Endpoint choice for routes with session affinity (affinity: cookie) or consistent hashing (upstream-hash-by),
// as ingress-nginx's balancers make it (rootfs/etc/nginx/lua/balancer/sticky*.lua, chash.lua, chashsubset.lua).
// Pure: a function of the backend's endpoints, the route's policy, the request's cookie or key, and `random`.
// A cookie can only ever name an endpoint of the verified table: it is looked up among the backend's endpoints'
// keys (or placed on their ring), never read as an address.
import { cookie, expand, type RequestVariables } from './access/variables.ts';
import { HashRing } from './hash-ring.ts';
import { md5Hex } from './md5.ts';
import type { RequestFacts } from './decide.ts';
import type { AffinityPolicy, Backend, BalancePolicy, Endpoint, RoutePolicies } from './table/schema.ts';

/** sticky.lua: the cookie's value is `<upstream key>|<backend key>`. */
const DELIMITER = '|';
/** sticky_balanced.lua's MAX_UPSTREAM_CHECKS_COUNT, per endpoint here: how many random keys to try for one that
 * lands on a wanted endpoint (after a failure with change-on-failure). */
const KEY_TRIES = 20;

/** What is derived from a backend once per table (backends are immutable and replaced on a swap). */
interface BackendState {
  /** ingress-nginx's upstream name, `namespace-service-port`: the salt of persistent keys. */
  salt: string;
  /** sticky.lua's backend_key: md5(md5(name) .. name). */
  backendKey: string;
  /** Persistent keys (md5(salt .. "address:port")) by endpoint index, and back. */
  keys: string[];
  byKey: Map<string, number>;
  ring: HashRing;
  subsets: Map<number, { ring: HashRing; members: number[][] }>;
}

const states = new WeakMap<Backend, BackendState>();

const endpointName = (e: Endpoint): string => `${e.address}:${e.port}`;

function stateOf(b: Backend): BackendState {
  let s = states.get(b);
  if (s !== undefined) return s;
  const salt = `${b.service.namespace}-${b.service.name}-${b.service.port}`;
  const names = b.endpoints.map(endpointName);
  const keys = names.map((n) => md5Hex(salt + n)); // util/nodemap.lua create_map
  s = {
    salt,
    backendKey: md5Hex(md5Hex(salt) + salt),
    keys,
    byKey: new Map(keys.map((k, i) => [k, i])),
    ring: new HashRing(names),
    subsets: new Map(),
  };
  states.set(b, s);
  return s;
}

/** chashsubset.lua build_subset_map: endpoints in table order cut into sets of `size`, the last one filled up
 * from the first endpoints; the ring holds the sets (`set1`, `set2`, ...). */
function subsetsOf(b: Backend, size: number): { ring: HashRing; members: number[][] } {
  const s = stateOf(b);
  let sub = s.subsets.get(size);
  if (sub !== undefined) return sub;
  const n = b.endpoints.length;
  const count = Math.ceil(n / size);
  const members: number[][] = [];
  for (let i = 0; i < count; i++) members.push(Array.from({ length: size }, (_, j) => (i * size + j) % n));
  sub = { ring: new HashRing(members.map((_, i) => `set${i + 1}`)), members };
  s.subsets.set(size, sub);
  return sub;
}

/** Where a request goes first, and the cookie to set if that endpoint answers. */
export interface EndpointPick {
  /** Index into `backend.endpoints`; the forwarders try `(first + k) % n` after a failure. */
  first: number;
  /** The Set-Cookie value for the response; null: none (the request's cookie already named a ready endpoint). */
  setCookie: string | null;
}

/** The request as the choice sees it: its variables (for upstream-hash-by) and whether it came over HTTPS. */
export type PickRequest = RequestVariables;

/** A random key for sticky_balanced (ingress-nginx: `now.pid.random`): 16 hex digits. */
function randomKey(random: () => number): string {
  let out = '';
  for (let i = 0; i < 2; i++)
    out += Math.floor(random() * 2 ** 32)
      .toString(16)
      .padStart(8, '0');
  return out;
}

/** The endpoint a cookie's upstream key names, or -1 (absent, malformed, or an endpoint no longer ready). */
function fromCookie(b: Backend, p: AffinityPolicy, r: PickRequest): number {
  const raw = cookie(r.header('cookie'), p.name);
  if (raw === '') return -1;
  const bar = raw.indexOf(DELIMITER);
  const key = bar === -1 ? raw : raw.slice(0, bar);
  if (key === '') return -1;
  if (p.mode === 'persistent') return stateOf(b).byKey.get(key) ?? -1;
  return stateOf(b).ring.find(key);
}

/** sticky.lua balance(): the cookie's endpoint when it names a ready one, else a new one, with a cookie for it. */
export function pickSticky(b: Backend, p: AffinityPolicy, r: PickRequest, nowMs: number, random: () => number): EndpointPick {
  const known = fromCookie(b, p, r);
  if (known !== -1) return { first: known, setCookie: null };
  const s = stateOf(b);
  if (p.mode === 'persistent') {
    const first = Math.floor(random() * b.endpoints.length); // nodemap random
    return { first, setCookie: setCookieHeader(p, s.keys[first]!, s.backendKey, r, nowMs) };
  }
  const key = randomKey(random);
  return { first: s.ring.find(key), setCookie: setCookieHeader(p, key, s.backendKey, r, nowMs) };
}

/** session-cookie-change-on-failure: the cookie for the endpoint that answered after the first one failed. null
 * when no random key lands on it (balanced mode; about e^-20 for any one endpoint). */
export function cookieFor(
  b: Backend,
  p: AffinityPolicy,
  index: number,
  r: PickRequest,
  nowMs: number,
  random: () => number,
): string | null {
  const s = stateOf(b);
  if (p.mode === 'persistent') return setCookieHeader(p, s.keys[index]!, s.backendKey, r, nowMs);
  for (let i = 0; i < KEY_TRIES * b.endpoints.length; i++) {
    const key = randomKey(random);
    if (s.ring.find(key) === index) return setCookieHeader(p, key, s.backendKey, r, nowMs);
  }
  return null;
}

/** chash.lua / chashsubset.lua: the key's endpoint (or a random member of the key's subset). */
export function pickHashed(b: Backend, p: BalancePolicy, r: PickRequest, random: () => number): number {
  const key = expand(p.hashBy, r);
  if (p.subsetSize === undefined) return stateOf(b).ring.find(key);
  const sub = subsetsOf(b, p.subsetSize);
  const set = sub.members[sub.ring.find(key)]!;
  return set[Math.floor(random() * set.length)]!;
}

/** util/same_site.lua same_site_none_compatible: user agents that reject SameSite=None (or treat it as Strict). */
const NO_SAME_SITE_NONE = /.+(?:Chrome\/[456]|CPU iPhone OS 12|Mac OS X 10_14)/;

/** nginx's ngx.cookie_time: `Thu, 18-Nov-10 11:27:35 GMT` (RFC 850 date with a two-digit year). */
export function cookieTime(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()];
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  return `${day}, ${p2(d.getUTCDate())}-${month}-${p2(d.getUTCFullYear() % 100)} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} GMT`;
}

/** sticky.lua set_cookie, in lua-resty-cookie's attribute order. Every attribute was checked by validate(). */
export function setCookieHeader(p: AffinityPolicy, key: string, backendKey: string, r: PickRequest, nowMs: number): string {
  let out = `${p.name}=${key}${DELIMITER}${backendKey}`;
  if (p.expiresSeconds !== undefined) out += `; Expires=${cookieTime(nowMs + p.expiresSeconds * 1000)}`;
  if (p.maxAgeSeconds !== undefined) out += `; Max-Age=${p.maxAgeSeconds}`;
  if (p.domain !== undefined) out += `; Domain=${p.domain}`;
  out += `; Path=${p.path}`;
  // ingress-nginx: Secure when asked for, and over HTTPS whatever session-cookie-secure says (affinity.go).
  if (p.secure === true || r.scheme === 'https') out += '; Secure';
  out += '; HttpOnly';
  let sameSite = p.sameSite;
  if (sameSite === 'None' && p.conditionalSameSiteNone === true && NO_SAME_SITE_NONE.test(r.header('user-agent') ?? ''))
    sameSite = undefined;
  if (sameSite !== undefined) out += `; SameSite=${sameSite}`;
  return out;
}

/** The request's variables from the facts decide() saw, plus its method. */
export function pickRequestOf(f: RequestFacts, method: string): PickRequest {
  const header = f.header;
  return {
    httpHost: f.host,
    scheme: f.scheme,
    method,
    path: f.path,
    search: f.search,
    clientIp: f.clientIp,
    localPort: f.localPort,
    header: header === undefined ? () => null : (name) => header(name) ?? null,
  };
}

/** The choice for a route with affinity or upstream-hash-by; null for any other route (round robin). */
export function pickEndpoint(
  b: Backend,
  up: RoutePolicies | undefined,
  f: RequestFacts,
  method: string,
  nowMs: number,
  random: () => number = Math.random,
): EndpointPick | null {
  if (up === undefined || b.endpoints.length === 0) return null;
  if (up.affinity !== undefined) return pickSticky(b, up.affinity, pickRequestOf(f, method), nowMs, random);
  if (up.balance !== undefined) return { first: pickHashed(b, up.balance, pickRequestOf(f, method), random), setCookie: null };
  return null;
}

/** The Set-Cookie for the response that endpoint `answered` gave, or null. sticky.lua sets the cookie only when it
 * picks a new endpoint: for a request without a usable cookie, and after a failure with change-on-failure. A new
 * session whose first endpoint failed gets the cookie of the endpoint that answered. */
export function responseCookie(
  b: Backend,
  up: RoutePolicies,
  pick: EndpointPick,
  answered: number,
  f: RequestFacts,
  method: string,
  nowMs: number,
  random: () => number = Math.random,
): string | null {
  const p = up.affinity;
  if (p === undefined) return null;
  if (answered === pick.first) return pick.setCookie;
  if (pick.setCookie === null && p.changeOnFailure !== true) return null;
  return cookieFor(b, p, answered, pickRequestOf(f, method), nowMs, random);
}
