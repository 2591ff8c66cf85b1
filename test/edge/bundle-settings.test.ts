// The table-level settings (HSTS, the default certificate, client-certificate authorities) travel through a sealed
// bundle unchanged: the bundle's head carries every table field but the hosts and backends, and a worker re-checks
// the table but not its hash, so a field the head dropped would be lost without a sound.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { openBundle, sealBundle, verifyManifest, type SigningKeys, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import { makeCert } from '../compile/certs.ts';
import { configMap } from '../support/builders.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

let dir: string;
let signing: SigningKeys;
let verifying: VerifyingKeys;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-bundle-settings-'));
  await generateKeySet(join(dir, 'keys'));
  signing = await loadSigningKeys(join(dir, 'keys'));
  verifying = await loadVerifyingKeys(join(dir, 'keys'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('sealBundle → openBundle', () => {
  it("keeps hsts and defaultCertificate (and the default certificate's key, encrypted)", async () => {
    const cert = makeCert({ cn: 'default.example', sans: ['default.example'] });
    const r = compile(
      objects(
        ourClass(),
        service('web', [{ address: '10.0.0.1', port: 8080 }]),
        ingress('shop', { host: 'shop.example.com', paths: [{ path: '/', service: 'web' }] }),
        tlsSecret('default-cert', cert.certPem, cert.keyPem, 'ingress-nginx'),
        configMap('controller', { 'hsts-max-age': '60' }, 'ingress-nginx'),
      ),
      { nginxConfigMap: 'ingress-nginx/controller', defaultSslCertificate: 'ingress-nginx/default-cert' },
    );
    expect(r.table).toMatchObject({ hsts: 'max-age=60; includeSubDomains', defaultCertificate: 'ingress-nginx/default-cert' });
    const sealed = await sealBundle(
      r.table,
      r.certificates,
      { cluster: 'prod', seq: 1, publishedAt: '2026-01-01T00:00:00.000Z', publisher: 'a' },
      signing,
    );
    expect([...sealed.parts.values()].some((p) => new TextDecoder().decode(p).includes(cert.keyPem.split('\n')[1]!))).toBe(false);
    const m = await verifyManifest(sealed.manifest, verifying, { cluster: 'prod', version: r.table.version });
    const opened = await openBundle(m, async (ref) => Buffer.from(sealed.parts.get(ref.name)!), verifying);
    expect(opened.table).toEqual(r.table);
    expect(opened.certificates.map((c) => [c.id, c.keyPem])).toEqual([['ingress-nginx/default-cert', cert.keyPem]]);
  });
});
