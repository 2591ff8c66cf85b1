// Redirect and host annotations end to end: the real Node gateway (HTTP and HTTPS listeners, a real TLS handshake)
// and a real echo backend on loopback. Each case names the ingress-nginx e2e test (test/e2e/annotations/*.go) whose
// request and assertion it repeats: status, Location, and the Host and X-Forwarded-Prefix the backend sees.
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, type Reply, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { makeCert } from '../compile/certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let backend: Backend;
let gw: TestGateway;
const cert = makeCert({ cn: 'secure.test', sans: ['secure.test', 'www.secure.test'], key: 'ec' });

beforeAll(async () => {
  backend = await startBackend('app', '127.0.0.131');
  const app = (host: string, annotations: Record<string, string>, path = '/', more: Partial<Parameters<typeof ingress>[1]> = {}) =>
    ingress(host.replaceAll('.', '-'), { host, paths: [{ path, service: 'app' }], annotations, ...more });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('app', [{ address: backend.address, port: backend.port }]),
      tlsSecret('tls', cert.certPem, cert.keyPem),
      app('redirect', { [`${N}permanent-redirect`]: 'http://redirect.example.com' }, '/something'),
      app('code', { [`${N}permanent-redirect`]: 'http://redirect.example.com', [`${N}permanent-redirect-code`]: '302' }, '/something'),
      app('rr.foo.com', { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'true' }, '/something'),
      app('rr-abs.foo.com', { [`${N}permanent-redirect`]: '/new-location', [`${N}relative-redirects`]: 'false' }, '/something'),
      app('approot.bar.com', { [`${N}app-root`]: '/foo' }),
      app('forcesslredirect.bar.com', { [`${N}force-ssl-redirect`]: 'true' }),
      app('upstreamvhost.foo.com', { [`${N}upstream-vhost`]: 'upstreamvhost.bar.com' }),
      app('xfp.baz.com', { [`${N}x-forwarded-prefix`]: '/test/value' }),
      app('noxfp.baz.com', { [`${N}x-forwarded-prefix`]: '' }),
      app('foo', { [`${N}server-alias`]: 'bar' }),
      app('fromtowwwredirect.bar.com', { [`${N}from-to-www-redirect`]: 'true' }),
      app('secure.test', { [`${N}from-to-www-redirect`]: 'true' }, '/', {
        tls: [{ hosts: ['secure.test', 'www.secure.test'], secretName: 'tls' }],
      }),
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

const get = (host: string, path = '/', headers: Record<string, string> = {}): Promise<Reply> =>
  request(`${gw.httpUrl}${path}`, { host, headers });
const getTls = (host: string, path = '/'): Promise<Reply> => request(`https://127.0.0.1:${gw.httpsPort}${path}`, { host });
/** The fingerprint of the certificate the gateway presents for a server name (a real handshake). */
const presented = (servername: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: gw.httpsPort, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
const echo = (r: Reply): EchoReply => json<EchoReply>(r);

describe('redirects answered at the edge (the backend sees none of them)', () => {
  it('permanent-redirect: 301 with the URL as Location (redirect.go "should respond with a standard redirect code")', async () => {
    const before = backend.requests;
    const r = await get('redirect', '/something?x=1');
    expect([r.status, r.headers.location]).toEqual([301, 'http://redirect.example.com']);
    expect(backend.requests).toBe(before);
  });
  it('permanent-redirect-code 302 (redirect.go "should respond with a custom redirect code")', async () => {
    const r = await get('code', '/something');
    expect([r.status, r.headers.location]).toEqual([302, 'http://redirect.example.com']);
  });
  it('relative-redirects true: Location is the path (relativeredirects.go "should respond with relative URL in Location")', async () => {
    const r = await get('rr.foo.com', '/something');
    expect([r.status, r.headers.location]).toEqual([301, '/new-location']);
  });
  it('relative-redirects false: the absolute URL (relativeredirects.go "should respond with absolute URL in Location")', async () => {
    const r = await get('rr-abs.foo.com', '/something');
    expect([r.status, r.headers.location]).toEqual([301, 'http://rr-abs.foo.com/new-location']);
  });
  it('app-root: / → 302 http://approot.bar.com/foo (approot.go "should redirect to /foo"); /foo itself is served', async () => {
    const r = await get('approot.bar.com');
    expect([r.status, r.headers.location]).toEqual([302, 'http://approot.bar.com/foo']);
    expect(echo(await get('approot.bar.com', '/foo')).url).toBe('/foo');
  });
  it('force-ssl-redirect: 308 to https on a host without TLS (forcesslredirect.go "should redirect to https"); HTTPS is served', async () => {
    const r = await get('forcesslredirect.bar.com', '/?a=b');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://forcesslredirect.bar.com${gw.httpsPort === 443 ? '' : `:${gw.httpsPort}`}/?a=b`);
    expect((await getTls('forcesslredirect.bar.com')).status).toBe(200);
  });
  it('from-to-www-redirect: www → bare, 308, path kept (fromtowwwredirect.go "should redirect from www HTTP to HTTP")', async () => {
    const r = await get('www.fromtowwwredirect.bar.com', '/foo');
    expect([r.status, r.headers.location]).toEqual([308, 'http://fromtowwwredirect.bar.com/foo']);
  });
  it('from-to-www-redirect over TLS with the host certificate (fromtowwwredirect.go "should redirect from www HTTPS to HTTPS")', async () => {
    const r = await getTls('www.secure.test');
    expect([r.status, r.headers.location]).toEqual([308, 'https://secure.test/']);
    expect(await presented('www.secure.test')).toBe(new X509Certificate(cert.certPem).fingerprint256);
    expect(echo(await getTls('secure.test')).headers.host).toBe('secure.test');
  });
});

describe('what the backend sees', () => {
  it('upstream-vhost: Host is the annotation value (upstreamvhost.go), X-Forwarded-Host the client one', async () => {
    const e = echo(await get('upstreamvhost.foo.com'));
    expect(e.headers.host).toBe('upstreamvhost.bar.com');
    expect(e.headers['x-forwarded-host']).toBe('upstreamvhost.foo.com');
  });
  it('x-forwarded-prefix: the value, replacing a client one (xforwardedprefix.go "should set the X-Forwarded-Prefix")', async () => {
    expect(echo(await get('xfp.baz.com', '/', { 'x-forwarded-prefix': '/forged' })).headers['x-forwarded-prefix']).toBe('/test/value');
  });
  it('x-forwarded-prefix "": no header (xforwardedprefix.go "should not add X-Forwarded-Prefix if the annotation value is empty")', async () => {
    expect(echo(await get('noxfp.baz.com')).headers['x-forwarded-prefix']).toBeUndefined();
  });
  it('server-alias: foo and bar both reach the backend with their own Host (alias.go "200 for host foo and bar")', async () => {
    for (const host of ['foo', 'bar']) {
      const r = await get(host);
      expect(r.status).toBe(200);
      expect(echo(r).headers.host).toBe(host);
    }
    expect((await get('baz')).status).toBe(404);
  });
});
