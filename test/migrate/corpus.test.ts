// `portico migrate` on a corpus of ingress-nginx's own documentation examples (corpus/README.md names each source),
// each loaded with ingress-nginx's leftover IngressClass and a controller ConfigMap: its report, Ingress by Ingress,
// matches what a real agent process (`portico sync --manifests`, publishing into a real redis-server) then serves —
// the routes of each Ingress in the signed table, and how many of them answer 503. The text reports are golden files
// (golden/<file>.txt; UPDATE_GOLDEN=1 rewrites them, review them as diffs).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateKeySet, loadVerifyingKeys } from '../../cli/keys.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { DEFAULT_COMPILE_OPTIONS, type CompileOptions } from '../../sync/compile/types.ts';
import { readManifests } from '../../sync/manifests.ts';
import { renderReport } from '../../sync/migrate/render.ts';
import { migrationReport } from '../../sync/migrate/report.ts';
import { spawnPortico, waitFor, type Spawned } from '../support/process.ts';
import { readPublished } from '../support/published.ts';
import { startRedis, type RedisServer } from '../support/redis.ts';

const CORPUS = fileURLToPath(new URL('./corpus/', import.meta.url));
const GOLDEN = fileURLToPath(new URL('./golden/', import.meta.url));
const GLOBAL = ['00-ingress-class.yaml', '01-controller-configmap.yaml'];
const SCENARIOS = readdirSync(CORPUS)
  .filter((f) => /^\d\d-.*\.yaml$/.test(f) && !GLOBAL.includes(f))
  .sort();
const CONFIGMAP = 'ingress-nginx/ingress-nginx-controller';
/** The flags a user taking over ingress-nginx's class would give the agent (README, "Moving from ingress-nginx"). */
const OPTIONS: CompileOptions = { ...DEFAULT_COMPILE_OPTIONS, serveClasses: ['nginx'], nginxConfigMap: CONFIGMAP };
const FLAGS = ['--serve-class', 'nginx', '--nginx-configmap', CONFIGMAP];

let redis: RedisServer;
let r: Redis;
let keys: VerifyingKeys;
let agent: Spawned;
const tmp = mkdtempSync(join(tmpdir(), 'portico-corpus-'));
const dir = join(tmp, 'manifests');

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The corpus leaves certificates as PLACEHOLDER: each TLS Secret gets a fresh certificate for the hosts the
 * Ingresses of its file name it for, and a `ca.crt` placeholder a fresh CA. */
function materialize(text: string): string {
  const docs = parseAllDocuments(text).map((d) => d.toJSON() as Record<string, unknown> | null);
  const hostsOf = new Map<string, string[]>();
  for (const d of docs) {
    if (d?.kind !== 'Ingress') continue;
    for (const t of (d.spec as { tls?: { secretName?: string; hosts?: string[] }[] })?.tls ?? [])
      if (t.secretName) hostsOf.set(t.secretName, [...(hostsOf.get(t.secretName) ?? []), ...(t.hosts ?? [])]);
  }
  for (const d of docs) {
    if (d?.kind !== 'Secret') continue;
    const data = (d.data ?? {}) as Record<string, string>;
    const name = (d.metadata as { name: string }).name;
    if (data['tls.crt'] === 'PLACEHOLDER') {
      const named = hostsOf.get(name) ?? [];
      const hosts = named.length > 0 ? named : ['example.com'];
      const c = generateSelfSignedCertificate({ commonName: hosts[0]!, dnsNames: hosts, keyType: 'ec' });
      data['tls.crt'] = b64(c.certPem);
      data['tls.key'] = b64(c.keyPem);
    }
    if (data['ca.crt'] === 'PLACEHOLDER')
      data['ca.crt'] = b64(generateSelfSignedCertificate({ commonName: 'corpus-ca', keyType: 'ec', isCA: true }).certPem);
    for (const k of Object.keys(data)) if (data[k] === 'PLACEHOLDER') data[k] = b64('placeholder');
  }
  return docs
    .filter((d) => d !== null)
    .map((d) => JSON.stringify(d))
    .join('\n---\n');
}

/** A marker Ingress per scenario, so each one publishes a new table version. */
const marker = (i: number): string =>
  JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace: 'default', name: `corpus-marker-${i}` },
    spec: {
      ingressClassName: 'nginx',
      rules: [
        {
          host: `marker-${i}.corpus.test`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'marker', port: { number: 80 } } } }] },
        },
      ],
    },
  });

function load(file: string, i: number): void {
  // The agent watches the directory itself: empty it, never replace it. Each scenario's marker is a file of its own,
  // created last: a listing that holds it holds the whole scenario (a reused name could be listed before the
  // scenario's files exist and read after).
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  for (const g of GLOBAL) writeFileSync(join(dir, g), readFileSync(join(CORPUS, g), 'utf8'));
  writeFileSync(join(dir, file), materialize(readFileSync(join(CORPUS, file), 'utf8')));
  writeFileSync(join(dir, `zz-marker-${i}.json`), marker(i));
}

beforeAll(async () => {
  redis = await startRedis();
  r = redis.client();
  await generateKeySet(join(tmp, 'keys'));
  keys = await loadVerifyingKeys(join(tmp, 'keys'));
  load(SCENARIOS[0]!, 0);
  agent = spawnPortico(['sync', '--manifests', dir, '--redis', redis.url, '--cluster', 'corpus', '--keys', join(tmp, 'keys'), ...FLAGS]);
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  r?.disconnect();
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Routes of each Ingress in a published table, and how many answer 503. */
function servedRoutes(t: RoutingTable): Map<string, { routes: number; closed: number }> {
  const out = new Map<string, { routes: number; closed: number }>();
  for (const h of t.hosts)
    for (const route of h.routes) {
      const key = `${route.source.namespace}/${route.source.name}`;
      const c = out.get(key) ?? { routes: 0, closed: 0 };
      c.routes++;
      if (route.policies.failClosed !== undefined) c.closed++;
      out.set(key, c);
    }
  return out;
}

describe('portico migrate on ingress-nginx documentation examples, against what the agent serves', () => {
  SCENARIOS.forEach((file, i) => {
    it(file, async () => {
      if (i > 0) load(file, i);
      const host = `marker-${i}.corpus.test`;
      let table: RoutingTable | undefined;
      await waitFor(
        async () => {
          table = (await readPublished(r, 'corpus', keys))?.table;
          return table?.hosts.some((h) => h.host === host) === true;
        },
        20_000,
        () => `the agent never published ${file}:\n${agent.logs().slice(-3000)}`,
      );
      const objects = await readManifests(dir);
      const isMarker = (o: { metadata?: { name?: string } }): boolean => o.metadata?.name?.startsWith('corpus-marker-') === true;
      const report = migrationReport({ ...objects, ingresses: objects.ingresses.filter((o) => !isMarker(o)) }, OPTIONS);
      const served = servedRoutes(table!);
      for (const ing of report.ingresses) {
        const s = served.get(`${ing.namespace}/${ing.name}`) ?? { routes: 0, closed: 0 };
        expect({ ingress: `${ing.namespace}/${ing.name}`, routes: ing.routes, closed: ing.closedRoutes }).toEqual({
          ingress: `${ing.namespace}/${ing.name}`,
          routes: s.routes,
          closed: s.closed,
        });
        if (!ing.served) expect(s.routes).toBe(0);
      }
      // Nothing is served that the report does not know of.
      const known = new Set(report.ingresses.map((x) => `${x.namespace}/${x.name}`));
      expect([...served.keys()].filter((k) => !known.has(k) && !k.startsWith('default/corpus-marker-'))).toEqual([]);
      const text = renderReport(report);
      const golden = join(GOLDEN, file.replace(/\.yaml$/, '.txt'));
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });
  });
});
