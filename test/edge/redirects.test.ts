// decide() for the redirect and host annotations, from a table built by the real compiler: which redirect (status
// and Location, query kept or not) a request gets, and which Host and X-Forwarded-Prefix go upstream. Each case
// names the ingress-nginx e2e test (test/e2e/annotations/*.go) whose assertion it mirrors.
import { describe, expect, it } from 'vitest';
import { decide, type RequestFacts } from '../../gateway/decide.ts';
import { compileMatcher } from '../../gateway/table/match.ts';
import { compile } from '../../sync/compile/index.ts';
import { makeCert } from '../compile/certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
const cert = makeCert({ cn: 'secure.test', sans: ['secure.test', 'www.secure.test'], key: 'ec' });
const app = (host: string, annotations: Record<string, string>, path = '/', more: Partial<Parameters<typeof ingress>[1]> = {}) =>
  ingress(host.replaceAll('.', '-'), { host, paths: [{ path, service: 'web' }], annotations, ...more });

const TABLE = compile(
  objects(
    ourClass(),
    service('web', [{ address: '10.0.0.1', port: 8080 }]),
    tlsSecret('tls', cert.certPem, cert.keyPem),
    app('redirect.test', { [`${N}permanent-redirect`]: 'http://redirect.example.com' }, '/something'),
    app('code.test', { [`${N}permanent-redirect`]: 'http://redirect.example.com', [`${N}permanent-redirect-code`]: '302' }, '/something'),
    app('temporal.test', { [`${N}temporal-redirect`]: 'https://maintenance.example.com/x?y=1', [`${N}temporal-redirect-code`]: '307' }),
    app('rr-abs.test', { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'false' }, '/something'),
    app('rr-rel.test', { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'true' }, '/something'),
    app('approot.test', { [`${N}app-root`]: '/foo' }),
    app('force.test', { [`${N}force-ssl-redirect`]: 'true' }),
    app('vhost.test', { [`${N}upstream-vhost`]: 'upstreamvhost.bar.com' }),
    app('xfp.test', { [`${N}x-forwarded-prefix`]: '/test/value' }),
    app('noxfp.test', { [`${N}x-forwarded-prefix`]: '' }),
    app('foo', { [`${N}server-alias`]: 'bar' }),
    app('fromtowww.test', { [`${N}from-to-www-redirect`]: 'true' }),
    app('secure.test', { [`${N}from-to-www-redirect`]: 'true' }, '/', {
      tls: [{ hosts: ['secure.test', 'www.secure.test'], secretName: 'tls' }],
    }),
    app('plain.test', {}),
  ),
).table;
const LIVE = { current: { matcher: compileMatcher(TABLE), certificates: new Map(), loadedAt: 0 } };

interface Case {
  name: string;
  host: string;
  path?: string;
  search?: string;
  scheme?: 'http' | 'https';
  httpsPort?: number | null;
  want: { redirect: string; status: number } | { forward: string; upstreamHeaders?: [string, string | null][] } | { status: number };
}

const CASES: Case[] = [
  {
    name: 'permanent-redirect: 301 to the URL as written (redirect.go "should respond with a standard redirect code")',
    host: 'redirect.test',
    path: '/something',
    want: { redirect: 'http://redirect.example.com', status: 301 },
  },
  {
    name: 'permanent-redirect keeps neither path nor query (nginx `return 301 <url>`)',
    host: 'redirect.test',
    path: '/something/deeper',
    search: '?q=1',
    want: { redirect: 'http://redirect.example.com', status: 301 },
  },
  {
    name: 'permanent-redirect-code 302 (redirect.go "should respond with a custom redirect code")',
    host: 'code.test',
    path: '/something',
    want: { redirect: 'http://redirect.example.com', status: 302 },
  },
  {
    name: 'temporal-redirect with temporal-redirect-code 307: the URL with its own query',
    host: 'temporal.test',
    path: '/a',
    search: '?b=2',
    want: { redirect: 'https://maintenance.example.com/x?y=1', status: 307 },
  },
  {
    name: 'temporal-redirect also on HTTPS (the redirect is the whole location)',
    host: 'temporal.test',
    scheme: 'https',
    want: { redirect: 'https://maintenance.example.com/x?y=1', status: 307 },
  },
  {
    name: 'a path location is made absolute (relativeredirects.go "should respond with absolute URL in Location")',
    host: 'rr-abs.test',
    path: '/something',
    want: { redirect: 'http://rr-abs.test/new-location', status: 301 },
  },
  {
    name: 'the absolute form keeps the port the client used',
    host: 'rr-abs.test:8080',
    path: '/something',
    want: { redirect: 'http://rr-abs.test:8080/new-location', status: 301 },
  },
  {
    name: 'relative-redirects: the path as written (relativeredirects.go "should respond with relative URL in Location")',
    host: 'rr-rel.test',
    path: '/something',
    want: { redirect: '/new-location', status: 301 },
  },
  { name: 'app-root: / redirects with 302 (approot.go)', host: 'approot.test', want: { redirect: 'http://approot.test/foo', status: 302 } },
  {
    name: 'app-root drops the query of / and keeps the scheme',
    host: 'approot.test',
    search: '?x=1',
    scheme: 'https',
    want: { redirect: 'https://approot.test/foo', status: 302 },
  },
  { name: 'app-root: any other path is served', host: 'approot.test', path: '/foo', want: { forward: 'default/web:80' } },
  {
    name: 'force-ssl-redirect: 308 to https://host/ though the host has no TLS (forcesslredirect.go)',
    host: 'force.test',
    want: { redirect: 'https://force.test/', status: 308 },
  },
  {
    name: 'force-ssl-redirect: 308 https://host/ with the query kept ($request_uri)',
    host: 'force.test',
    path: '/a',
    search: '?b=1',
    want: { redirect: 'https://force.test/a?b=1', status: 308 },
  },
  {
    name: 'force-ssl-redirect names a non-default HTTPS port',
    host: 'force.test',
    httpsPort: 8443,
    want: { redirect: 'https://force.test:8443/', status: 308 },
  },
  {
    name: 'force-ssl-redirect without an HTTPS listener (TLS ends in front): to 443',
    host: 'force.test',
    httpsPort: null,
    want: { redirect: 'https://force.test/', status: 308 },
  },
  { name: 'force-ssl-redirect: HTTPS is served', host: 'force.test', scheme: 'https', want: { forward: 'default/web:80' } },
  {
    name: 'ACME HTTP-01 challenges are not redirected by force-ssl-redirect',
    host: 'force.test',
    path: '/.well-known/acme-challenge/tok',
    want: { forward: 'default/web:80' },
  },
  {
    name: 'a host without TLS and without force-ssl-redirect is served on HTTP',
    host: 'plain.test',
    want: { forward: 'default/web:80' },
  },
  {
    name: 'upstream-vhost: the upstream gets that Host (upstreamvhost.go)',
    host: 'vhost.test',
    want: { forward: 'default/web:80', upstreamHeaders: [['host', 'upstreamvhost.bar.com']] },
  },
  {
    name: 'x-forwarded-prefix: set to the value (xforwardedprefix.go "should set the X-Forwarded-Prefix")',
    host: 'xfp.test',
    want: { forward: 'default/web:80', upstreamHeaders: [['x-forwarded-prefix', '/test/value']] },
  },
  {
    name: 'x-forwarded-prefix "": no header (xforwardedprefix.go "should not add X-Forwarded-Prefix if the annotation value is empty")',
    host: 'noxfp.test',
    want: { forward: 'default/web:80' },
  },
  { name: 'server-alias: the alias routes like the host (alias.go)', host: 'bar', want: { forward: 'default/web:80' } },
  {
    name: 'from-to-www-redirect: www. → bare name, 308, path and query kept (fromtowwwredirect.go "from www HTTP to HTTP")',
    host: 'www.fromtowww.test',
    path: '/foo',
    search: '?a=1',
    want: { redirect: 'http://fromtowww.test/foo?a=1', status: 308 },
  },
  {
    name: 'from-to-www-redirect over HTTPS keeps the scheme (fromtowwwredirect.go "from www HTTPS to HTTPS")',
    host: 'www.secure.test',
    scheme: 'https',
    want: { redirect: 'https://secure.test/', status: 308 },
  },
  { name: 'from-to-www-redirect: the host itself is served', host: 'fromtowww.test', want: { forward: 'default/web:80' } },
];
describe('decide(): redirect and host annotations', () => {
  it.each(CASES)('$name', (c) => {
    const f: RequestFacts = {
      host: c.host,
      path: c.path ?? '/',
      search: c.search ?? '',
      scheme: c.scheme ?? 'http',
      clientIp: '192.0.2.1',
      localPort: 80,
    };
    const d = decide(LIVE, f, c.httpsPort === undefined ? 443 : c.httpsPort);
    if (d.kind === 'redirect') expect({ redirect: d.location, status: d.status }).toEqual(c.want);
    else if (d.kind === 'forward')
      expect({ forward: d.backend.id, ...(d.upstreamHeaders === undefined ? {} : { upstreamHeaders: d.upstreamHeaders }) }).toEqual(c.want);
    else expect({ status: d.status }).toEqual(c.want);
  });
});
