// The agent seals each table from the last one's host entries and backends, carried over by the incremental compiler;
// the bytes of those entries, the parts joined from them and the parts' digests are kept by the entries' identity
// (gateway/table/canonical.ts canonicalBytes, bundle.ts joinSealed), and so is the content hash of the table the
// publisher validates again. None of that may change a byte: after each named change, the bundle sealed the agent's
// way equals the bundle sealed from a parsed copy of the same table (fresh objects, nothing kept), part for part and
// digest for digest, and the version is what the copy hashes to.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys } from '../../cli/keys.ts';
import { sealBundle, type SealedBundle, type SigningKeys } from '../../gateway/table/bundle.ts';
import { contentHash } from '../../gateway/table/canonical.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { IncrementalCompiler } from '../../sync/compile/incremental.ts';
import { type AnyObject, cls, ingress, objects, prefix, rule, slice, svc } from '../support/builders.ts';

/** 600 hosts: several hosts and backends parts (128 entries each on average), so a change leaves most parts alone. */
const N = 600;
let dir: string;
let keys: SigningKeys;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-seal-reuse-'));
  await generateKeySet(dir);
  keys = await loadSigningKeys(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const store = new Map<string, AnyObject>();
const put = (o: AnyObject): void => void store.set(`${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`, o);
const app = (i: number, path = '/'): void => {
  put(svc(`svc-${i}`));
  put(slice(`svc-${i}`, [`10.0.${i >> 8}.${i & 255}`]));
  put(ingress(`ing-${i}`, { rules: [rule(`app-${i}.example.com`, prefix(path, `svc-${i}`))] }));
};

const changes: [string, () => void][] = [
  ['one Ingress path edited', () => put(ingress('ing-7', { rules: [rule('app-7.example.com', prefix('/v2', 'svc-7'))] }))],
  ['a new Ingress on a new host', () => app(N + 1)],
  ['an Ingress deleted', () => void store.delete('Ingress/default/ing-11')],
  ['an EndpointSlice changed', () => put(slice('svc-13', ['10.9.9.9']))],
  ['nothing changed', () => {}],
];

const meta = { cluster: 'c', seq: 1, publishedAt: '2026-12-08T00:00:00.000Z', publisher: 'test' };
const parsed = (t: RoutingTable): RoutingTable => JSON.parse(JSON.stringify(t)) as RoutingTable;
const plain = (b: SealedBundle) => ({
  manifest: b.manifest,
  refs: b.refs,
  parts: [...b.parts].map(([n, bytes]) => [n, Buffer.from(bytes).toString('base64')]),
});

describe('sealing reuses what a change left alone, byte for byte', () => {
  const compiler = new IncrementalCompiler();
  let last: SealedBundle | null = null;
  beforeAll(async () => {
    put(cls('portico', { isDefault: true }));
    for (let i = 0; i < N; i++) app(i);
    const first = compiler.compile(objects(...store.values()));
    last = await sealBundle(first.table, first.certificates, meta, keys);
  });

  for (const [name, change] of changes)
    it(name, async () => {
      change();
      const r = compiler.compile(objects(...store.values()));
      const agentWay = await sealBundle(r.table, r.certificates, meta, keys, [], last!.sealed);
      const copy = parsed(r.table);
      const fresh = await sealBundle(copy, r.certificates, meta, keys, [], last!.sealed);
      expect(plain(agentWay)).toEqual(plain(fresh));
      const { version, schema: _s, ...content } = copy;
      expect(contentHash(content)).toBe(version);
      expect(r.table.version).toBe(version);
      // What a change leaves alone is most of the table: at most the changed host's and backend's parts differ.
      const before = new Map(last!.refs.map((p) => [p.name, p.sha256]));
      const differing = agentWay.refs.filter((p) => p.name !== 'head' && before.get(p.name) !== p.sha256).length;
      expect(differing).toBeLessThanOrEqual(2);
      last = agentWay;
    });
});
