// Golden files (Envoy Gateway style): golden/<name>.in.yaml (multi-document Kubernetes manifests) →
// golden/<name>.out.json ({ accepted, diagnostics, table, certificates } with key material redacted),
// compared byte for byte. Regenerate after an intended change with `UPDATE_GOLDEN=1 npx vitest run
// test/compile` (or `npm run golden`) and review the diff. Update mode checks nothing against the goldens
// (it writes them), so it reports those tests as skipped, and it is refused under CI.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileMatcher } from '../../gateway/table/match.ts';
import { isRecord } from '../../gateway/table/names.ts';
import { addObject, emptyObjects, parseManifest } from '../../sync/manifests.ts';
import type { ClusterObjects, CompileResult } from '../../sync/compile/types.ts';
import { run } from './harness.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
// A CI run that rewrote the goldens would compare every output with itself and pass whatever changed.
if (UPDATE && (process.env.CI ?? '') !== '') {
  throw new Error(
    `UPDATE_GOLDEN=1 is refused when CI is set (CI=${process.env.CI}): CI must compare against the committed goldens. Regenerate them locally and commit the reviewed diff.`,
  );
}

/** The golden inputs read the way `portico local` and `sync --manifests` read a file (sync/manifests.ts), so a
 * golden shows what a user of those commands gets. A document of another kind would be ignored there; here it
 * is a mistake in the golden input. */
function loadManifests(name: string, text: string): ClusterObjects {
  const out = emptyObjects();
  for (const doc of parseManifest(name, text)) {
    const before = Object.values(out).reduce((n, l) => n + l.length, 0);
    addObject(out, doc);
    if (Object.values(out).reduce((n, l) => n + l.length, 0) === before && !(isRecord(doc) && doc.kind === 'List')) {
      throw new Error(`${name}: a document of kind ${JSON.stringify(isRecord(doc) ? doc.kind : doc)} that Portico does not read`);
    }
  }
  return out;
}

/** The golden text: certificate material reduced to a hash of the chain and a redacted key. */
function goldenText(r: CompileResult): string {
  const certificates = r.certificates.map((c) => ({
    id: c.id,
    certPemSha256: createHash('sha256').update(c.certPem).digest('hex'),
    keyPem: '[redacted]',
  }));
  return `${JSON.stringify({ accepted: r.accepted, diagnostics: r.diagnostics, table: r.table, certificates }, null, 2)}\n`;
}

const inputs = readdirSync(DIR)
  .filter((f) => f.endsWith('.in.yaml'))
  .sort();

describe('golden files', () => {
  it('there are at least 5 golden pairs and no orphaned outputs', () => {
    expect(inputs.length).toBeGreaterThanOrEqual(5);
    const outputs = readdirSync(DIR).filter((f) => f.endsWith('.out.json'));
    expect(outputs.map((f) => f.replace(/\.out\.json$/, '')).sort()).toEqual(inputs.map((f) => f.replace(/\.in\.yaml$/, '')));
  });

  for (const input of inputs) {
    it(`${input.replace(/\.in\.yaml$/, '')}${UPDATE ? ' (UPDATE_GOLDEN=1: written, not compared)' : ''}`, (ctx) => {
      const r = run(loadManifests(input, readFileSync(join(DIR, input), 'utf8')));
      const text = goldenText(r);
      const outPath = join(DIR, input.replace(/\.in\.yaml$/, '.out.json'));
      expect(text).not.toMatch(/PRIVATE KEY/); // before writing: a key must never reach a golden file
      if (UPDATE) {
        writeFileSync(outPath, text);
        ctx.skip(`UPDATE_GOLDEN=1: wrote ${outPath}; review the diff, then run without UPDATE_GOLDEN to compare`);
      }
      expect(existsSync(outPath), `${outPath} is missing: run with UPDATE_GOLDEN=1`).toBe(true);
      expect(text).toBe(readFileSync(outPath, 'utf8'));
    });
  }
});

// Spot checks of the golden scenarios through the matcher, so the goldens are not only "whatever the
// compiler printed last time".
describe('golden scenarios through the matcher', () => {
  const load = (name: string): CompileResult => run(loadManifests(`${name}.in.yaml`, readFileSync(join(DIR, `${name}.in.yaml`), 'utf8')));
  const reach = (r: CompileResult, host: string, path: string): string | null =>
    compileMatcher(r.table).match(host, path).backend?.id ?? null;

  it('typical-app-tls', () => {
    const r = load('typical-app-tls');
    expect(reach(r, 'shop.example.com', '/cart')).toBe('shop/storefront:http');
    expect(reach(r, 'shop.example.com', '/api/orders')).toBe('shop/api:80');
    expect(reach(r, 'shop.example.com', '/api/v2/stream/x')).toBe('shop/api:grpc');
    expect(reach(r, 'shop.example.com', '/healthz')).toBe('shop/storefront:80');
    expect(reach(r, 'shop.example.com', '/apix')).toBe('shop/storefront:http');
    expect(reach(r, 'WWW.shop.example.com:443', '/')).toBe('shop/storefront:http');
    expect(r.table.backends.find((b) => b.id === 'shop/storefront:http')?.endpoints.map((e) => e.address)).toEqual([
      '10.244.1.17',
      '10.244.2.9',
      '10.244.4.21',
    ]);
    expect(r.table.hosts.every((h) => h.tls?.certificate === 'shop/shop-tls')).toBe(true);
    expect(r.diagnostics).toEqual([]);
  });

  it('many-hosts-wildcards', () => {
    const r = load('many-hosts-wildcards');
    expect(reach(r, 'anything.apps.example.com', '/')).toBe('apps/app-router:http');
    expect(reach(r, 'docs.apps.example.com', '/')).toBe('apps/docs:80');
    expect(reach(r, 'apps.example.com', '/docs/x')).toBe('apps/docs:80');
    expect(reach(r, 'status.apps.example.com', '/ping')).toBe('apps/status:http');
    expect(reach(r, 'x.y.apps.example.com', '/.well-known/acme-challenge/t')).toBe('apps/catchall:http');
    expect(reach(r, 'unknown.example', '/anything')).toBe('apps/catchall:http');
    expect(r.table.hosts.find((h) => h.host === 'eu.api.apps.example.com')?.tls).toEqual({ certificate: null });
  });

  it('conflicts', () => {
    const r = load('conflicts');
    expect(reach(r, 'api.example.com', '/v1/x')).toBe('team-a/api:http');
    expect(reach(r, 'api.example.com', '/v1')).toBe('team-b/api:http');
    expect(reach(r, 'api.example.com', '/v2')).toBe('team-b/api:http');
    expect(reach(r, 'api.example.com', '/v3')).toBe('team-c/api:http');
    expect(reach(r, 'api.example.com', '/shared')).toBe('team-a/api:http');
    expect(reach(r, 'api.example.com', '/other')).toBe('team-a/errors:http');
    expect(reach(r, 'b.example.com', '/nope')).toBe('team-b/api:http');
    expect(reach(r, 'nowhere.example.com', '/')).toBe('team-a/errors:http');
    expect(r.table.hosts.find((h) => h.host === 'api.example.com')?.tls).toEqual({ certificate: 'team-a/api-tls' });
  });

  it('broken-mixed', () => {
    const r = load('broken-mixed');
    expect(reach(r, 'good.example.com', '/')).toBe('web/site:80');
    expect(reach(r, 'messy.example.com', '/ok')).toBe('web/site:http');
    expect(reach(r, 'messy.example.com', '/gone')).toBe('web/deleted-service:80');
    expect(r.table.backends.find((b) => b.id === 'web/deleted-service:80')?.endpoints).toEqual([]);
    expect(r.accepted.map((a) => a.name)).toEqual(['good', 'messy', 'shapeless']);
  });

  it('nginx-migration', () => {
    const r = load('nginx-migration');
    const m = compileMatcher(r.table);
    expect(m.match('legacy.example.com', '/admin/x').route?.policies.sslRedirect).toBe(true);
    expect(m.match('legacy.example.com', '/anything').route?.policies.sslRedirect).toBe(false);
    expect(reach(r, 'other.example.com', '/')).toBeNull();
    // A snippet of literal header directives becomes header rules; one with anything else (here the server-snippet's
    // location block) may hold access rules Portico cannot see: it fails closed (the server-snippet its host).
    expect(r.diagnostics.filter((d) => /is refused \(.*snippets are never run as configuration/.test(d.message))).toHaveLength(1);
    expect(m.match('legacy.example.com', '/anything').route?.policies.headerRules).toEqual({
      response: { set: [['x-frame-options', 'DENY']] },
    });
    expect(m.match('legacy.example.com', '/anything').failClosed).not.toBeNull();
  });

  it('default-class-and-backend', () => {
    const r = load('default-class-and-backend');
    expect(reach(r, 'blog.example.org', '/ghost/admin')).toBe('edge/blog:http');
    expect(reach(r, 'example.net', '/')).toBe('edge/parked:http');
    expect(reach(r, 'traefik.example.org', '/')).toBe('edge/default-http-backend:80');
    expect(r.accepted.map((a) => a.name)).toEqual(['blog', 'default-backend', 'parked-domains']);
  });
});
