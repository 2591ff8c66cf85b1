// Error pages and ClusterIP backends through the real Node adapter, with real backends on loopback and tables from
// the real compiler: default-backend (test/e2e/annotations/default_backend.go), custom-http-errors
// (customhttperrors.go) and service-upstream (serviceupstream.go). The error backend is an echo server, so each
// test reads the X-* headers ingress-nginx's @custom_<upstream>_<code> location sends.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackend, type Backend, type EchoReply } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const N = 'nginx.ingress.kubernetes.io/';
let errors: Backend;
let pod: Backend;
let vip: Backend;
let failing: http.Server;
let failingRequests = 0;
let gw: TestGateway;
const ep = (b: { address: string; port: number }) => ({ address: b.address, port: b.port });

beforeAll(async () => {
  errors = await startBackend('errors', '127.0.0.61');
  pod = await startBackend('pod', '127.0.0.62');
  vip = await startBackend('cluster-ip', '127.0.0.63');
  // Answers /missing 404, /down 503, /broken 500, anything else 200, each with a body of its own.
  failing = http.createServer((req, res) => {
    failingRequests++;
    const path = (req.url ?? '/').split('?')[0];
    const status = path === '/missing' ? 404 : path === '/down' ? 503 : path === '/broken' ? 500 : 200;
    req.resume();
    req.on('end', () => res.writeHead(status, { 'x-backend': 'failing' }).end(`failing says ${status}\n`));
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.64', r));
  const failingPort = (failing.address() as AddressInfo).port;
  // service-upstream: the Service's ClusterIP is `vip`'s address and its port `vip`'s; its endpoints are `pod`.
  const [clusterSvc, clusterSlice] = service('clustered', [ep(pod)]);
  clusterSvc.spec = { ...clusterSvc.spec, clusterIP: vip.address, ports: [{ name: 'http', port: vip.port, targetPort: 'http' }] };
  const clustered = ingress('clustered', {
    host: 'cluster-ip.test',
    paths: [{ path: '/', service: 'clustered' }],
    annotations: { [`${N}service-upstream`]: 'true' },
  });
  const podsToo = ingress('pods', { host: 'pods.test', paths: [{ path: '/', service: 'clustered' }] });
  for (const i of [clustered, podsToo]) i.spec!.rules![0]!.http!.paths![0]!.backend!.service!.port = { number: vip.port };
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('errors', [ep(errors)]),
      service('failing', [{ address: '127.0.0.64', port: failingPort }]),
      service('empty', []),
      clusterSvc,
      clusterSlice,
      ingress('errs', {
        host: 'errors.test',
        paths: [{ path: '/', service: 'failing' }],
        annotations: { [`${N}custom-http-errors`]: '404,503', [`${N}default-backend`]: 'errors' },
      }),
      // default_backend.go: the route's Service "invalid" does not exist.
      ingress('default-backend', {
        host: 'default-backend',
        paths: [{ path: '/', service: 'invalid' }],
        annotations: { [`${N}default-backend`]: 'errors' },
      }),
      ingress('no-endpoints', {
        host: 'empty.test',
        paths: [{ path: '/', service: 'empty' }],
        annotations: { [`${N}default-backend`]: 'errors' },
      }),
      // custom-http-errors alone, and no default backend in the table: the gateway's own answer with the status.
      ingress('no-page', {
        host: 'no-page.test',
        paths: [{ path: '/', service: 'failing' }],
        annotations: { [`${N}custom-http-errors`]: '404' },
      }),
      ingress('plain', {
        host: 'plain.test',
        paths: [{ path: '/', service: 'failing' }],
        annotations: { [`${N}default-backend`]: 'errors' },
      }),
      clustered,
      podsToo,
    ),
  );
});

afterAll(async () => {
  await gw?.close();
  await new Promise((r) => failing?.close(r));
  for (const b of [errors, pod, vip]) await b?.close();
});

describe('custom-http-errors (customhttperrors.go) with default-backend', () => {
  it('an intercepted 404: the error backend gets GET / with X-Code and the X-* headers; its answer reaches the client', async () => {
    const r = await request(`${gw.httpUrl}/missing?q=1`, {
      host: 'errors.test',
      headers: { accept: 'text/html', 'x-request-id': 'req-42' },
    });
    expect(r.status).toBe(200); // error_page 404 = @custom_...: with "=", the error backend's own status
    expect(r.headers['x-backend']).toBe('errors'); // nothing of the intercepted answer
    const e = json<EchoReply>(r);
    expect(e.url).toBe('/');
    expect(e.method).toBe('GET');
    expect(e.headers).toMatchObject({
      'x-code': '404',
      'x-format': 'text/html',
      'x-original-uri': '/missing?q=1',
      'x-namespace': 'default',
      'x-ingress-name': 'errs',
      'x-service-name': 'failing',
      'x-service-port': '80',
      'x-request-id': 'req-42',
      host: 'errors.test',
    });
  });
  it('an intercepted 503 carries X-Code 503', async () => {
    const r = await request(`${gw.httpUrl}/down`, { host: 'errors.test' });
    expect(json<EchoReply>(r).headers['x-code']).toBe('503');
    expect(json<EchoReply>(r).headers['x-format']).toBeUndefined(); // no Accept: no X-Format, as nginx sends none
  });
  it('a status not listed (500) and a 200 reach the client unchanged', async () => {
    const broken = await request(`${gw.httpUrl}/broken`, { host: 'errors.test' });
    expect([broken.status, broken.body]).toEqual([500, 'failing says 500\n']);
    const fine = await request(`${gw.httpUrl}/fine`, { host: 'errors.test' });
    expect([fine.status, fine.body]).toEqual([200, 'failing says 200\n']);
  });
  it('a POST whose answer is intercepted: the page request has no body', async () => {
    const before = failingRequests;
    const r = await request(`${gw.httpUrl}/missing`, { host: 'errors.test', method: 'POST', body: 'x'.repeat(5000) });
    const e = json<EchoReply>(r);
    expect([e.method, e.body, e.headers['content-length'] ?? '0', e.headers['x-code']]).toEqual(['POST', '', '0', '404']);
    expect(failingRequests).toBe(before + 1);
  });
  it('without an error backend (no default-backend, no default backend in the table): the gateway answers the status', async () => {
    const r = await request(`${gw.httpUrl}/missing`, { host: 'no-page.test' });
    expect([r.status, r.body, r.headers['x-backend']]).toEqual([404, '404 Not Found\n', undefined]);
  });
  it('default-backend without custom-http-errors intercepts nothing: the upstream 404 reaches the client', async () => {
    const r = await request(`${gw.httpUrl}/missing`, { host: 'plain.test' });
    expect([r.status, r.body]).toEqual([404, 'failing says 404\n']);
  });
});

describe('default-backend (default_backend.go)', () => {
  it('should use a custom default backend as upstream: a Service that does not exist', async () => {
    const r = await request(`${gw.httpUrl}/alma/armud`, { host: 'default-backend' });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers).toMatchObject({
      'x-code': '503',
      'x-ingress-name': 'default-backend',
      'x-service-name': 'invalid',
      'x-original-uri': '/alma/armud',
    });
  });
  it('a Service without ready endpoints: the error backend answers instead of the 503', async () => {
    const r = await request(`${gw.httpUrl}/x`, { host: 'empty.test' });
    expect([r.status, json<EchoReply>(r).headers['x-code'], json<EchoReply>(r).headers['x-service-name']]).toEqual([200, '503', 'empty']);
  });
});

describe('service-upstream (serviceupstream.go)', () => {
  it('should use the Service Cluster IP and Port', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'cluster-ip.test' });
    expect([r.status, json<EchoReply>(r).backend]).toEqual([200, 'cluster-ip']);
  });
  it('should not use the Service Cluster IP and Port without the annotation: the pods', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'pods.test' });
    expect([r.status, json<EchoReply>(r).backend]).toEqual([200, 'pod']);
  });
});
