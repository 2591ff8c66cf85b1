// Behind a trusted proxy (portico local --trusted-proxies): the client address, scheme and host it vouches
// for decide access and reach the backend; a peer outside the trusted ranges is judged by its TCP address.
// Real TCP connections from different loopback addresses, the real Node gateway, a real backend.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, type EchoReply, startBackend } from '../support/backends.ts';
import { json, request } from '../support/client.ts';
import { startTestGateway, type TestGateway } from '../support/gateway.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';

const N = 'nginx.ingress.kubernetes.io/';
let backend: Backend;
let gw: TestGateway;

beforeAll(async () => {
  backend = await startBackend('behind', '127.0.0.71');
  const cert = generateSelfSignedCertificate({ commonName: 'secure.test', keyType: 'ec' });
  gw = await startTestGateway(
    objects(
      ourClass(),
      service('web', [{ address: backend.address, port: backend.port }]),
      ingress('ranged', {
        host: 'ranged.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: { [`${N}allowlist-source-range`]: '203.0.113.0/24' },
      }),
      ingress('secure', {
        host: 'secure.test',
        paths: [{ path: '/', service: 'web' }],
        tls: [{ hosts: ['secure.test'], secretName: 'tls' }],
      }),
      tlsSecret('tls', cert.certPem, cert.keyPem),
    ),
    undefined,
    undefined,
    { proxies: '127.0.0.1/32', header: 'X-Forwarded-For', fullChain: true },
  );
});

afterAll(async () => {
  await gw?.close();
  await backend?.close();
});

describe('a trusted proxy (127.0.0.1) in front of the edge', () => {
  it('its client address decides the source ranges and reaches the backend', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'ranged.test',
      localAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.5' },
    });
    expect(r.status).toBe(200);
    const e = json<EchoReply>(r);
    expect(e.headers['x-real-ip']).toBe('203.0.113.5');
    expect(e.headers['x-forwarded-for']).toBe('203.0.113.5, 127.0.0.1'); // compute-full-forwarded-for
  });

  it('a client it names outside the range is refused', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'ranged.test',
      localAddress: '127.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.1' },
    });
    expect(r.status).toBe(403);
  });

  it('X-Forwarded-Proto: https from it means no HTTPS redirect (the proxy terminated TLS)', async () => {
    expect((await request(`${gw.httpUrl}/`, { host: 'secure.test', localAddress: '127.0.0.1' })).status).toBe(308);
    const r = await request(`${gw.httpUrl}/`, {
      host: 'secure.test',
      localAddress: '127.0.0.1',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' },
    });
    expect(r.status).toBe(200);
    expect(json<EchoReply>(r).headers['x-forwarded-proto']).toBe('https');
    expect(json<EchoReply>(r).headers['x-forwarded-port']).toBe('443');
  });
});

describe('a peer outside the trusted ranges (127.0.0.2)', () => {
  it('is judged by its TCP address, whatever headers it sends', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'ranged.test',
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-for': '203.0.113.5' },
    });
    expect(r.status).toBe(403);
  });

  it('cannot claim HTTPS to skip the redirect', async () => {
    const r = await request(`${gw.httpUrl}/`, {
      host: 'secure.test',
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(r.status).toBe(308);
  });
});
