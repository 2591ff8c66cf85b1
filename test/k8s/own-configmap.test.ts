// The agent's own ConfigMaps (status and Event ledgers, sync/kube/own-configmap.ts) against a real apiserver: a ledger
// of 20,000 Ingresses (2 MB of JSON, twice what a ConfigMap may hold) is stored gzipped and read back whole, a small
// one stays plain JSON under `data`, and the apiserver itself refuses the large one uncompressed (the reason for it).
// A conflict is stored over while the writer leads, never once it does not.
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { COMPRESS_ABOVE, OwnConfigMap } from '../../sync/kube/own-configmap.ts';
import { KubeApiError, KubeRest } from '../../sync/kube/rest.ts';
import { kubeconfig } from './access.ts';
import { startTestCluster, type TestCluster } from './cluster.ts';

const NS = 'ledger-test';
let cluster: TestCluster;
let admin: KubeRest;

beforeAll(async () => {
  cluster = await startTestCluster(inject('k8sBin'));
  admin = new KubeRest(kubeconfig(cluster.adminKubeconfig));
  await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

/** A status ledger's text for n Ingresses, as status-ledger.ts writes it: namespace/name → uid and addresses. */
function ledgerText(n: number): string {
  const entries: Record<string, unknown> = {};
  for (let i = 0; i < n; i++)
    entries[`team-${i % 97}/app-${i}`] = { uid: crypto.randomUUID(), addresses: [{ ip: '203.0.113.10' }, { ip: '203.0.113.11' }] };
  return JSON.stringify(entries);
}

interface Stored {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
const read = (name: string) => admin.request<Stored>('GET', `/api/v1/namespaces/${NS}/configmaps/${name}`);

describe('a ledger ConfigMap through a real apiserver', () => {
  it('a ledger of 20,000 Ingresses is stored gzipped under binaryData and read back whole by a new leader', async () => {
    const text = ledgerText(20_000);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    await new OwnConfigMap(admin, NS, 'big-status', 'written.json').store(text);
    const stored = await read('big-status');
    expect(stored.data?.['written.json']).toBeUndefined();
    const gz = Buffer.from(stored.binaryData?.['written.json.gz'] ?? '', 'base64');
    expect(gz.length).toBeLessThan(1024 * 1024);
    expect(gunzipSync(gz).toString('utf8')).toBe(text);
    // a new leader's instance reads the same text
    expect(await new OwnConfigMap(admin, NS, 'big-status', 'written.json').load()).toBe(text);
  });

  it('a small ledger stays plain JSON under data; storing it over a large one leaves no gzipped copy behind', async () => {
    const cm = new OwnConfigMap(admin, NS, 'big-status', 'written.json');
    await cm.load();
    const small = ledgerText(10);
    expect(small.length).toBeLessThan(COMPRESS_ABOVE);
    await cm.store(small);
    const stored = await read('big-status');
    expect(stored.data?.['written.json']).toBe(small);
    expect(stored.binaryData).toBeUndefined();
    expect(await new OwnConfigMap(admin, NS, 'big-status', 'written.json').load()).toBe(small);
  });

  it('on a conflict, a leader stores again over the edit; a replica deposed meanwhile leaves the new leader its text', async () => {
    let term: number | null = 3;
    const old = new OwnConfigMap(admin, NS, 'handover', 'written.json', () => term);
    await old.store('{"by":"old leader"}');
    const edit = new OwnConfigMap(admin, NS, 'handover', 'written.json');
    await edit.load();
    await edit.store('{"by":"someone else"}'); // old's resourceVersion is stale now: its next store conflicts
    expect(await old.store('{"by":"old leader, again"}')).toBe(true);
    expect(await edit.load()).toBe('{"by":"old leader, again"}');

    const next = new OwnConfigMap(admin, NS, 'handover', 'written.json');
    await next.load();
    await next.store('{"by":"new leader"}');
    // The Lease moves on while the old leader's store is in flight: its PUT conflicts, and it no longer leads.
    const deposed = old.store('{"by":"old leader, deposed"}');
    term = null;
    expect(await deposed).toBe(false);
    expect(await next.load()).toBe('{"by":"new leader"}');
    // Deposed and elected again (a later term) while a store is in flight: the store of the old term is not retried.
    term = 5;
    await old.load();
    await next.load();
    await next.store('{"by":"interim leader"}');
    const stale = old.store('{"by":"old term"}');
    term = 7;
    expect(await stale).toBe(false);
    expect(await next.load()).toBe('{"by":"interim leader"}');
    // Not leading at all: nothing is written.
    term = null;
    expect(await old.store('{"by":"not leading"}')).toBe(false);
    expect(await next.load()).toBe('{"by":"interim leader"}');
  });

  it('the apiserver refuses the same 20,000-Ingress ledger uncompressed (over 1 MiB)', async () => {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'plain-status', namespace: NS },
      data: { 'written.json': ledgerText(20_000) },
    };
    const err = await admin.request('POST', `/api/v1/namespaces/${NS}/configmaps`, body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
  });
});
