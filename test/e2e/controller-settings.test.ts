// The controller ConfigMap's keys, --default-backend-service and --default-ssl-certificate, end to end: real
// loopback backends and an auth service behind the real Node gateway, real TLS handshakes, the agent's compiler
// with --nginx-configmap. Each case shows one key's effect on traffic, as a user moving from ingress-nginx would
// notice it (configmap.md: hsts, proxy-body-size, ssl-redirect, limit-req-status-code, global-auth-url,
// custom-http-errors; the controller flags --default-backend-service and --default-ssl-certificate).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocal, waitFor } from '../support/process.ts';
import { makeCert } from '../compile/certs.ts';
import { configMap } from '../support/builders.ts';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { startBackend, type Backend } from '../support/backends.ts';
import { request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import type { ClusterObjects } from '../../sync/compile/types.ts';

const N = 'nginx.ingress.kubernetes.io/';
const SETTINGS = {
  nginxConfigMap: 'ingress-nginx/ingress-nginx-controller',
  defaultBackendService: 'ingress-nginx/fallback',
  defaultSslCertificate: 'ingress-nginx/default-cert',
};
const site = makeCert({ cn: 'site.test', sans: ['site.test', 'plain.test', 'limited.test', 'private.test', 'public.test'] });
const fallbackCert = makeCert({ cn: 'fallback.example', sans: ['fallback.example'] });
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

let web: Backend;
let fallback: Backend;
let auth: AuthServer;
let gw: TestGateway;

function cluster(data: Record<string, string>): ClusterObjects {
  const ep = (b: Backend) => [{ address: b.address, port: b.port }];
  const tls = (host: string) => [{ hosts: [host], secretName: 'site' }];
  return objects(
    ourClass(),
    service('web', ep(web)),
    service('fallback', ep(fallback), 'ingress-nginx'),
    tlsSecret('site', site.certPem, site.keyPem),
    tlsSecret('default-cert', fallbackCert.certPem, fallbackCert.keyPem, 'ingress-nginx'),
    configMap('ingress-nginx-controller', data, 'ingress-nginx'),
    ingress('site', {
      host: 'site.test',
      paths: [{ path: '/', service: 'web' }],
      tls: tls('site.test'),
      annotations: { [`${N}enable-global-auth`]: 'false' },
    }),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }], annotations: { [`${N}enable-global-auth`]: 'false' } }),
    ingress('limited', {
      host: 'limited.test',
      paths: [{ path: '/', service: 'web' }],
      tls: tls('limited.test'),
      annotations: { [`${N}limit-rps`]: '1', [`${N}limit-burst-multiplier`]: '1', [`${N}enable-global-auth`]: 'false' },
    }),
    ingress('private', { host: 'private.test', paths: [{ path: '/', service: 'web' }], tls: tls('private.test') }),
  );
}

const BASE = {
  'hsts-max-age': '600',
  'proxy-body-size': '1k',
  'limit-req-status-code': '429',
  'custom-http-errors': '418',
  'ssl-redirect': 'false',
};

beforeAll(async () => {
  web = await startBackend('web', '127.0.0.91');
  fallback = await startBackend('fallback', '127.0.0.92');
  auth = await startAuthServer('127.0.0.93');
  gw = await startTestGateway(objects());
  const r = gw.apply(cluster({ ...BASE, 'global-auth-url': `${auth.url}/oauth2/auth` }), SETTINGS);
  expect(r.diagnostics.filter((d) => d.severity === 'Warning')).toEqual([]);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([web?.close(), fallback?.close(), auth?.close()]);
});

const https = (host: string, path = '/', o: Parameters<typeof request>[1] = {}) =>
  request(`https://127.0.0.1:${gw.httpsPort}${path}`, { host, ...o });

describe('hsts, hsts-max-age, hsts-include-subdomains, hsts-preload', () => {
  it("an HTTPS answer for a host with TLS carries Strict-Transport-Security, replacing the upstream's", async () => {
    const r = await https('site.test', '/?set-header=strict-transport-security:max-age=1');
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
  });
  it("the gateway's own answers over HTTPS carry it too (a 413 for a body over proxy-body-size)", async () => {
    const r = await https('site.test', '/', { method: 'POST', body: 'x'.repeat(2048) });
    expect(r.status).toBe(413);
    expect(r.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
  });
  it('plain HTTP never carries it (RFC 6797 §7.2)', async () => {
    const r = await request(`${gw.httpUrl}/`, { host: 'site.test' });
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBeUndefined();
  });
  it('a host without TLS does not get it over HTTPS either', async () => {
    const r = await https('plain.test');
    expect(r.status).toBe(200);
    expect(r.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('proxy-body-size, ssl-redirect, limit-req-status-code', () => {
  it('proxy-body-size "1k": a 2 KiB body is refused with 413 before the backend sees it; 1 KiB passes', async () => {
    const before = web.requests;
    expect((await https('site.test', '/', { method: 'POST', body: 'x'.repeat(2048) })).status).toBe(413);
    expect(web.requests).toBe(before);
    expect((await https('site.test', '/', { method: 'POST', body: 'x'.repeat(1024) })).status).toBe(200);
  });
  it('ssl-redirect "false": a TLS host is served over plain HTTP instead of redirected', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'site.test' })).status).toBe(200);
  });
  it('limit-req-status-code "429": a request over limit-rps gets 429 instead of 503', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await https('limited.test', '/', { localAddress: '127.0.0.94' })).status);
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(2)).toEqual([429, 429]);
  });
});

describe('global-auth-url', () => {
  it('an Ingress without enable-global-auth "false" asks the auth service: 401 without a session, 200 with one', async () => {
    expect((await https('private.test')).status).toBe(401);
    const ok = await https('private.test', '/', { headers: { cookie: 'session=alice' } });
    expect(ok.status).toBe(200);
    expect(auth.hits.at(-1)?.headers.cookie).toBe('session=alice');
  });
  it('an Ingress with enable-global-auth "false" is not sent to the auth service', async () => {
    const hits = auth.hits.length;
    expect((await https('site.test')).status).toBe(200);
    expect(auth.hits.length).toBe(hits);
  });
});

describe('--default-backend-service with custom-http-errors, and --default-ssl-certificate', () => {
  it('a host no Ingress serves is answered by the default backend Service, not 404', async () => {
    const r = await request(`${gw.httpUrl}/anything`, { host: 'unknown.test' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).backend).toBe('fallback');
  });
  it('custom-http-errors "418": an upstream 418 is replaced by the default backend\'s page, with X-Code', async () => {
    const r = await https('site.test', '/status/418');
    expect(JSON.parse(r.body)).toMatchObject({ backend: 'fallback', headers: { 'x-code': '418' } });
  });
  it('a client with an unknown server name gets the default certificate, a served host its own', async () => {
    expect((await https('nobody.test')).peerFingerprint).toBe(fingerprint(fallbackCert.certPem));
    expect((await https('site.test')).peerFingerprint).toBe(fingerprint(site.certPem));
  });
});

describe('changes apply like any other object', () => {
  it('hsts "false" and limit-req-status-code removed: the next requests see the change', async () => {
    gw.apply(cluster({ ...BASE, hsts: 'false', 'limit-req-status-code': '503' }), SETTINGS);
    expect((await https('site.test')).headers['strict-transport-security']).toBeUndefined();
    expect((await https('private.test')).status).toBe(200); // global auth gone too
  });
});

describe('portico local --nginx-configmap (a process, its manifest directory watched)', () => {
  it('editing the ConfigMap file changes what the running gateway does, without a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'portico-settings-'));
    const write = (data: Record<string, string>): void => writeFileSync(join(dir, 'all.yaml'), manifestsOf(cluster(data)));
    write({ 'proxy-body-size': '1k', 'ssl-redirect': 'false' });
    const p = await startLocal(dir, ['--nginx-configmap', 'ingress-nginx/ingress-nginx-controller']);
    try {
      const post = () => request(`${p.http}/`, { host: 'site.test', method: 'POST', body: 'x'.repeat(4096) });
      expect((await post()).status).toBe(413);
      write({ 'proxy-body-size': '8k', 'ssl-redirect': 'false' });
      await waitFor(
        async () => (await post()).status === 200,
        10_000,
        () => `the new proxy-body-size never applied:\n${p.logs()}`,
      );
    } finally {
      expect(await p.stop()).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Every object of `c` as one multi-document YAML stream (JSON is YAML). */
function manifestsOf(c: ClusterObjects): string {
  return Object.values(c)
    .flatMap((list) => (Array.isArray(list) ? list : []))
    .map((o) => JSON.stringify(o))
    .join('\n---\n');
}
