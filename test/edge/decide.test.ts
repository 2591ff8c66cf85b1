// What the edge answers for a request, decided in process from a table built by the real compiler out of
// Kubernetes objects: forward (backend and target), a redirect to HTTPS, or one of the gateway's own statuses
// (400, 404, 503), then failover and weighted splits across peer clusters. No sockets: every row is
// (request, table, HTTPS port, peers) → Decision.
import { describe, expect, it } from 'vitest';
import { decide, peerDecision, type Decision, type PeerTable, type RequestFacts } from '../../gateway/decide.ts';
import type { LiveTable } from '../../gateway/live.ts';
import { compileMatcher } from '../../gateway/table/match.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { compile } from '../../sync/compile/index.ts';
import { makeCert } from '../compile/certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const NGINX = 'nginx.ingress.kubernetes.io/';
// Any ingress-nginx access-control annotation Portico does not enforce closes what it guards (fail closed).
const AUTH = { [`${NGINX}auth-type`]: 'digest' };

const cert = makeCert({ cn: 'secure.example.com', sans: ['secure.example.com', 'plain.example.com', 'private.example.com'], key: 'ec' });
const tlsFor = (host: string) => [{ hosts: [host], secretName: 'edge-tls' }];

function build(...items: Parameters<typeof objects>): RoutingTable {
  return compile(objects(ourClass(), ...items)).table;
}

/** This cluster's table. Every route has a ready endpoint unless its name says otherwise. */
const LOCAL = build(
  service('web', [
    { address: '10.0.0.1', port: 8080 },
    { address: '10.0.0.11', port: 8080 },
  ]),
  service('api', [{ address: '10.0.0.2', port: 9090 }]),
  service('drained', [{ address: '10.0.0.9', port: 8080, ready: false }]),
  service('catchall', [{ address: '10.0.0.3', port: 8080 }]),
  service('fallback', [{ address: '10.0.0.4', port: 8080 }]),
  service('split', [{ address: '10.0.0.5', port: 8080 }]),
  tlsSecret('edge-tls', cert.certPem, cert.keyPem),
  // The oldest Ingress's spec.defaultBackend serves requests that match no host.
  ingress('catchall', { defaultBackend: 'catchall', created: '2025-01-01T00:00:00Z' }),
  ingress('shop', {
    host: 'shop.example.com',
    paths: [
      { path: '/', service: 'web' },
      { path: '/api', service: 'api' },
      { path: '/drained', service: 'drained' },
    ],
  }),
  ingress('docs', { host: 'docs.example.com', paths: [{ path: '/guide', pathType: 'Exact', service: 'web' }], defaultBackend: 'fallback' }),
  ingress('secure', { host: 'secure.example.com', tls: tlsFor('secure.example.com'), paths: [{ path: '/', service: 'web' }] }),
  ingress('plain', {
    host: 'plain.example.com',
    tls: tlsFor('plain.example.com'),
    annotations: { [`${NGINX}ssl-redirect`]: 'false' },
    paths: [{ path: '/', service: 'web' }],
  }),
  ingress('private', {
    host: 'private.example.com',
    tls: tlsFor('private.example.com'),
    annotations: AUTH,
    paths: [{ path: '/', service: 'web' }],
  }),
  ingress('intranet', { host: 'intranet.example.com', annotations: AUTH, paths: [{ path: '/', service: 'web' }] }),
  ingress('vault', { host: 'vault.example.com', annotations: AUTH, paths: [{ path: '/x', service: 'web' }], defaultBackend: 'fallback' }),
  ingress('split', {
    host: 'split.example.com',
    annotations: { 'portico.dev/cluster-weight': '30' },
    paths: [{ path: '/', service: 'split' }],
  }),
  ingress('local-only', { host: 'local-only.example.com', paths: [{ path: '/', service: 'web' }] }),
);

/** This cluster without a default backend: an unknown host is a 404 here, or a peer's. */
const BARE = build(
  service('web', [{ address: '10.0.0.1', port: 8080 }]),
  service('drained', [{ address: '10.0.0.9', port: 8080, ready: false }]),
  ingress('shop', {
    host: 'shop.example.com',
    paths: [
      { path: '/', service: 'web' },
      { path: '/drained', service: 'drained' },
    ],
  }),
);

/** Peer cluster b: serves everything this cluster routes, with ready endpoints, plus a host of its own. */
const PEER_B = build(
  service('web', [{ address: '10.1.0.1', port: 8080 }]),
  service('drained', [{ address: '10.1.0.2', port: 8080 }]),
  service('split', [{ address: '10.1.0.5', port: 8080 }]),
  ingress('shop', {
    host: 'shop.example.com',
    paths: [
      { path: '/', service: 'web' },
      { path: '/drained', service: 'drained' },
    ],
  }),
  ingress('only-b', { host: 'only-b.example.com', paths: [{ path: '/', service: 'web' }] }),
  ingress('split', { host: 'split.example.com', paths: [{ path: '/', service: 'split' }] }),
);

/** Peer cluster c: the same routes guarded by access control it does not enforce (fail closed). */
const PEER_C = build(
  service('web', [{ address: '10.2.0.1', port: 8080 }]),
  service('drained', [{ address: '10.2.0.2', port: 8080 }]),
  ingress('shop', {
    host: 'shop.example.com',
    annotations: AUTH,
    paths: [
      { path: '/', service: 'web' },
      { path: '/drained', service: 'drained' },
    ],
  }),
  ingress('only-b', { host: 'only-b.example.com', annotations: AUTH, paths: [{ path: '/', service: 'web' }] }),
);

/** Peer cluster d: the routes exist but nothing is ready. */
const PEER_D = build(
  service('web', [{ address: '10.3.0.1', port: 8080, ready: false }]),
  service('drained', [{ address: '10.3.0.2', port: 8080, ready: false }]),
  ingress('shop', {
    host: 'shop.example.com',
    paths: [
      { path: '/', service: 'web' },
      { path: '/drained', service: 'drained' },
    ],
  }),
  ingress('only-b', { host: 'only-b.example.com', paths: [{ path: '/', service: 'web' }] }),
);

// As the inspection tool's explain() and the workers wrap a compiled table.
const live = (t: RoutingTable | null): Pick<LiveTable, 'current'> => ({
  current: t === null ? null : { matcher: compileMatcher(t), certificates: new Map(), loadedAt: 0 },
});
const TABLES = { LOCAL, BARE, PEER_B, PEER_C, PEER_D } as const;
type TableName = keyof typeof TABLES;
const peer = (cluster: string, t: TableName | null): PeerTable => ({ cluster, live: live(t === null ? null : TABLES[t]) });

/** What a user sees of a Decision. `label` is the route label on /metrics. */
type Expected =
  | { forward: string; target: string; cluster?: string; label?: string }
  | { redirect: string }
  | { status: 400 | 403 | 404 | 421 | 503; label?: string };

function seen(d: Decision, withLabel: boolean): Expected {
  const label = withLabel ? { label: d.label } : {};
  if (d.kind === 'forward')
    return { forward: d.backend.id, target: d.target, ...(d.cluster === undefined ? {} : { cluster: d.cluster }), ...label };
  if (d.kind === 'redirect') return { redirect: d.location };
  return { status: d.status, ...label };
}

interface Case {
  name: string;
  host: string;
  path?: string;
  search?: string;
  scheme?: 'http' | 'https';
  /** null: no table loaded yet. */
  table?: TableName | null;
  /** Where HTTPS is served, or null when there is no HTTPS listener. */
  httpsPort?: number | null;
  peers?: [string, TableName | null][];
  /** What the injected random() returns; the default would send every weighted request to a peer. */
  random?: number;
  want: Expected;
}

const WEB = 'default/web:80';

const CASES: Case[] = [
  // Forwarding on this cluster.
  {
    name: 'a route forwards to its backend with the path and query as sent',
    host: 'shop.example.com',
    path: '/cart',
    search: '?id=7',
    want: { forward: WEB, target: '/cart?id=7', label: 'default/shop shop.example.com /' },
  },
  {
    name: 'the longest prefix wins',
    host: 'shop.example.com',
    path: '/api/v1/items',
    want: { forward: 'default/api:80', target: '/api/v1/items', label: 'default/shop shop.example.com /api' },
  },
  {
    name: 'a prefix matches whole path elements only (/apix is not under /api)',
    host: 'shop.example.com',
    path: '/apix',
    want: { forward: WEB, target: '/apix' },
  },
  {
    name: 'the Host header is matched without case, port or trailing dot',
    host: 'SHOP.Example.com.:8080',
    path: '/',
    want: { forward: WEB, target: '/' },
  },
  {
    name: 'dot segments are resolved before matching and forwarded resolved (RFC 3986 6.2.2)',
    host: 'shop.example.com',
    path: '/static/../api/keys',
    want: { forward: 'default/api:80', target: '/api/keys' },
  },
  {
    name: 'encoded unreserved characters are decoded before matching (RFC 3986 6.2.2.2)',
    host: 'shop.example.com',
    path: '/%61pi/keys',
    want: { forward: 'default/api:80', target: '/api/keys' },
  },
  {
    name: 'an Exact route matches its path only',
    host: 'docs.example.com',
    path: '/guide',
    want: { forward: WEB, target: '/guide', label: 'default/docs docs.example.com =/guide' },
  },
  // Fallbacks and 404.
  {
    name: "a path no rule of the host matches goes to the host's fallback (its Ingress's spec.defaultBackend)",
    host: 'docs.example.com',
    path: '/guide/more',
    want: { forward: 'default/fallback:http', target: '/guide/more', label: 'host-fallback' },
  },
  {
    name: 'a host no rule names goes to the default backend',
    host: 'unknown.example.com',
    path: '/x',
    want: { forward: 'default/catchall:http', target: '/x', label: 'default-backend' },
  },
  {
    name: 'a host no rule names, without a default backend: 404',
    table: 'BARE',
    host: 'unknown.example.com',
    path: '/x',
    want: { status: 404, label: '' },
  },
  { name: 'no table loaded yet: 503', table: null, host: 'shop.example.com', want: { status: 503 } },
  // No ready endpoint.
  {
    name: 'a route whose Service has no ready endpoint: 503, labelled with its route',
    host: 'shop.example.com',
    path: '/drained/x',
    want: { status: 503, label: 'default/shop shop.example.com /drained' },
  },
  // Redirect to HTTPS (ssl-redirect defaults to true on hosts with TLS).
  {
    name: 'plain HTTP to a TLS host: 308 to https, port 443 left out, query kept',
    host: 'secure.example.com',
    path: '/a/b',
    search: '?q=1&r=2',
    want: { redirect: 'https://secure.example.com/a/b?q=1&r=2' },
  },
  {
    name: 'plain HTTP to a TLS host: another HTTPS port is written in the Location',
    host: 'secure.example.com',
    path: '/',
    httpsPort: 8443,
    want: { redirect: 'https://secure.example.com:8443/' },
  },
  {
    name: "the client's port is dropped and the host lower-cased in the Location",
    host: 'Secure.EXAMPLE.com:8080',
    path: '/x',
    want: { redirect: 'https://secure.example.com/x' },
  },
  {
    name: 'the Location carries the normalised path, never the raw dot segments',
    host: 'secure.example.com',
    path: '/a/../b',
    want: { redirect: 'https://secure.example.com/b' },
  },
  {
    name: 'HTTPS to a TLS host is forwarded',
    host: 'secure.example.com',
    path: '/a',
    scheme: 'https',
    want: { forward: WEB, target: '/a' },
  },
  {
    name: 'no HTTPS listener: plain HTTP is forwarded rather than redirected nowhere',
    host: 'secure.example.com',
    path: '/a',
    httpsPort: null,
    want: { forward: WEB, target: '/a' },
  },
  { name: 'ssl-redirect "false": plain HTTP is forwarded', host: 'plain.example.com', path: '/a', want: { forward: WEB, target: '/a' } },
  {
    name: 'ACME HTTP-01 challenges are answered over plain HTTP (RFC 8555 8.3)',
    host: 'secure.example.com',
    path: '/.well-known/acme-challenge/tok3n',
    want: { forward: WEB, target: '/.well-known/acme-challenge/tok3n' },
  },
  {
    name: 'only the challenge path is exempt, not the rest of /.well-known',
    host: 'secure.example.com',
    path: '/.well-known/security.txt',
    want: { redirect: 'https://secure.example.com/.well-known/security.txt' },
  },
  {
    name: 'a Host with userinfo after the port would redirect to another site: 400',
    host: 'secure.example.com:80@evil.example',
    path: '/',
    want: { status: 400 },
  },
  {
    name: 'a Host with a non-numeric port is not written into a Location: 400',
    host: 'secure.example.com:x',
    path: '/',
    want: { status: 400 },
  },
  // Fail closed.
  {
    name: 'a route guarded by unenforced access control: 503 even with ready endpoints',
    host: 'intranet.example.com',
    path: '/',
    want: { status: 503, label: 'default/intranet intranet.example.com /' },
  },
  {
    name: 'a guarded route on a TLS host is redirected to HTTPS first (as nginx: rewrite phase before access phase)',
    host: 'private.example.com',
    path: '/p',
    search: '?x=1',
    want: { redirect: 'https://private.example.com/p?x=1' },
  },
  { name: 'a guarded route over HTTPS: 503', host: 'private.example.com', path: '/p', scheme: 'https', want: { status: 503 } },
  {
    name: "a guarded Ingress's spec.defaultBackend, as the host fallback: 503",
    host: 'vault.example.com',
    path: '/other',
    want: { status: 503, label: 'host-fallback' },
  },
  {
    name: 'a guarded route never fails over to a peer',
    host: 'intranet.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    want: { status: 503 },
  },
  // Failover to peer clusters.
  {
    name: 'no local route: the first peer that routes the request',
    table: 'BARE',
    host: 'only-b.example.com',
    path: '/x',
    search: '?q',
    peers: [['b', 'PEER_B']],
    want: { forward: WEB, target: '/x?q', cluster: 'b', label: 'b:default/only-b only-b.example.com /' },
  },
  {
    name: 'no ready local endpoint: the first peer with a ready endpoint',
    host: 'shop.example.com',
    path: '/drained',
    peers: [['b', 'PEER_B']],
    want: { forward: 'default/drained:80', target: '/drained', cluster: 'b' },
  },
  {
    name: 'a peer whose route is fail-closed is skipped for the next one',
    host: 'shop.example.com',
    path: '/drained',
    peers: [
      ['c', 'PEER_C'],
      ['b', 'PEER_B'],
    ],
    want: { forward: 'default/drained:80', target: '/drained', cluster: 'b' },
  },
  {
    name: 'a peer with no ready endpoint is skipped for the next one',
    table: 'BARE',
    host: 'only-b.example.com',
    path: '/',
    peers: [
      ['d', 'PEER_D'],
      ['b', 'PEER_B'],
    ],
    want: { forward: WEB, target: '/', cluster: 'b' },
  },
  {
    name: 'a peer whose table is not loaded yet is skipped',
    table: 'BARE',
    host: 'only-b.example.com',
    path: '/',
    peers: [
      ['x', null],
      ['b', 'PEER_B'],
    ],
    want: { forward: WEB, target: '/', cluster: 'b' },
  },
  {
    name: 'no peer can serve it either: 404 when nothing routes it',
    table: 'BARE',
    host: 'only-b.example.com',
    path: '/',
    peers: [
      ['c', 'PEER_C'],
      ['d', 'PEER_D'],
    ],
    want: { status: 404 },
  },
  {
    name: 'no peer can serve it either: 503 when the local route has no ready endpoint',
    host: 'shop.example.com',
    path: '/drained',
    peers: [
      ['c', 'PEER_C'],
      ['d', 'PEER_D'],
    ],
    want: { status: 503 },
  },
  {
    name: 'a local route with ready endpoints stays local while peers exist',
    host: 'shop.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    want: { forward: WEB, target: '/' },
  },
  {
    name: "a local default backend serves before a peer's route",
    host: 'only-b.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    want: { forward: 'default/catchall:http', target: '/' },
  },
  // Weighted split (portico.dev/cluster-weight: 30 keeps 30 % here).
  {
    name: 'weight 30: a draw under 30 stays local',
    host: 'split.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    random: 0.2999,
    want: { forward: 'default/split:80', target: '/' },
  },
  {
    name: 'weight 30: a draw of exactly 30 goes to the peer',
    host: 'split.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    random: 0.3,
    want: { forward: 'default/split:80', target: '/', cluster: 'b' },
  },
  {
    name: 'weight 30: a high draw goes to the peer',
    host: 'split.example.com',
    path: '/s',
    search: '?a',
    peers: [['b', 'PEER_B']],
    random: 0.99,
    want: { forward: 'default/split:80', target: '/s?a', cluster: 'b' },
  },
  {
    name: 'weight 30: the peer share stays local when no peer routes the host',
    host: 'split.example.com',
    path: '/',
    peers: [
      ['c', 'PEER_C'],
      ['d', 'PEER_D'],
    ],
    random: 0.99,
    want: { forward: 'default/split:80', target: '/' },
  },
  {
    name: 'weight 30 without peers: every request stays local',
    host: 'split.example.com',
    path: '/',
    random: 0.99,
    want: { forward: 'default/split:80', target: '/' },
  },
  {
    name: 'no weight annotation: a high draw stays local',
    host: 'local-only.example.com',
    path: '/',
    peers: [['b', 'PEER_B']],
    random: 0.99,
    want: { forward: WEB, target: '/' },
  },
];

describe('decide(): one request against this cluster and its peers', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const f: RequestFacts = {
        host: c.host,
        path: c.path ?? '/',
        search: c.search ?? '',
        scheme: c.scheme ?? 'http',
        clientIp: '198.51.100.7',
        localPort: 8080,
      };
      const peers = (c.peers ?? []).map(([cluster, t]) => peer(cluster, t));
      const random = c.random ?? 0.9999;
      const d = decide(
        live(c.table === undefined ? LOCAL : c.table === null ? null : TABLES[c.table]),
        f,
        c.httpsPort === undefined ? 443 : c.httpsPort,
        peers,
        () => random,
      );
      expect(seen(d, 'label' in c.want)).toEqual(c.want);
    });
  }
});

interface PeerCase {
  name: string;
  host: string;
  path: string;
  search?: string;
  peers: [string, TableName | null][];
  /** Peer clusters this request was already sent to. */
  tried?: string[];
  /** The cluster chosen, or null when no peer can serve the request. */
  want: { cluster: string; backend: string; target: string } | null;
}

const PEER_CASES: PeerCase[] = [
  {
    name: 'the first peer in the order given wins',
    host: 'shop.example.com',
    path: '/a',
    peers: [
      ['b', 'PEER_B'],
      ['b2', 'PEER_B'],
    ],
    want: { cluster: 'b', backend: WEB, target: '/a' },
  },
  {
    name: 'a peer already tried is skipped (the request is not sent twice)',
    host: 'shop.example.com',
    path: '/a',
    search: '?z',
    peers: [
      ['b', 'PEER_B'],
      ['b2', 'PEER_B'],
    ],
    tried: ['b'],
    want: { cluster: 'b2', backend: WEB, target: '/a?z' },
  },
  { name: 'every peer tried: none', host: 'shop.example.com', path: '/a', peers: [['b', 'PEER_B']], tried: ['b'], want: null },
  {
    name: "a peer's fail-closed route is not a place to fail over to",
    host: 'shop.example.com',
    path: '/a',
    peers: [['c', 'PEER_C']],
    want: null,
  },
  { name: 'a peer whose route has no ready endpoint: none', host: 'shop.example.com', path: '/a', peers: [['d', 'PEER_D']], want: null },
  { name: 'a peer that does not route the host: none', host: 'elsewhere.example.com', path: '/', peers: [['b', 'PEER_B']], want: null },
  {
    name: "the peer's default backend counts as routing the request",
    host: 'elsewhere.example.com',
    path: '/',
    peers: [['l', 'LOCAL']],
    want: { cluster: 'l', backend: 'default/catchall:http', target: '/' },
  },
  {
    name: "a peer's normalised path is the target",
    host: 'shop.example.com',
    path: '/x/../%61',
    peers: [['b', 'PEER_B']],
    want: { cluster: 'b', backend: WEB, target: '/a' },
  },
];

describe('peerDecision(): the peer cluster a request fails over to', () => {
  for (const c of PEER_CASES) {
    it(c.name, () => {
      const d = peerDecision(
        c.peers.map(([cluster, t]) => peer(cluster, t)),
        { host: c.host, path: c.path, search: c.search ?? '' },
        c.tried === undefined ? undefined : new Set(c.tried),
      );
      expect(d === null ? null : { cluster: d.cluster, backend: d.backend.id, target: d.target }).toEqual(c.want);
      if (d !== null) expect(d.kind).toBe('forward');
    });
  }
});
