// Each watched object is kept once: the agent's slim copy replaces the entry of client-node's own informer cache
// (a real ListWatch; its watch is a fake that never delivers an event, since only the list matters here and a real
// apiserver is what test/k8s/agent.test.ts runs against), and the slim copy drops only what nothing reads.
import { ListWatch, type KubernetesObject, type Watch } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { shareWithInformer, slimCopy } from './one-copy.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function listed(): KubernetesObject & { spec: unknown; status: unknown } {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      namespace: 'default',
      name: 'web',
      resourceVersion: '7',
      // List results carry Date objects (client-node's model classes); the compiler reads strings.
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
      annotations: { [LAST_APPLIED]: '{"a whole":"copy"}', 'nginx.ingress.kubernetes.io/rewrite-target': '/' },
    },
    spec: { rules: [{ host: 'a.example' }] },
    status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
  };
}

describe('slimCopy', () => {
  const slim = slimCopy(listed()) as ReturnType<typeof listed>;
  it.each([
    ['managedFields are dropped', () => expect(slim.metadata?.managedFields).toBeUndefined()],
    ["kubectl's last-applied copy is dropped", () => expect(slim.metadata?.annotations?.[LAST_APPLIED]).toBeUndefined()],
    ['other annotations stay', () => expect(slim.metadata?.annotations?.['nginx.ingress.kubernetes.io/rewrite-target']).toBe('/')],
    ['dates become the strings the compiler reads', () => expect(slim.metadata?.creationTimestamp).toBe('2026-01-01T00:00:00.000Z')],
    ['resourceVersion stays (the informer compares it)', () => expect(slim.metadata?.resourceVersion).toBe('7')],
    [
      'spec and status stay (the status writer reads status)',
      () => expect([slim.spec, slim.status]).toEqual([listed().spec, listed().status]),
    ],
  ])('%s', (_name, check) => check());
});

describe('shareWithInformer', () => {
  it("leaves one copy: the informer's cache holds the agent's slim object", async () => {
    const fakeWatch = { watch: async () => ({ abort() {} }) } as unknown as Watch;
    const informer = new ListWatch<KubernetesObject>(
      '/apis/networking.k8s.io/v1/ingresses',
      fakeWatch,
      async () => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '9' }, items: [listed()] }),
      false,
    );
    const store = new Map<string, KubernetesObject>();
    const shared: boolean[] = [];
    informer.on('add', (o) => {
      const slim = slimCopy(o);
      store.set(`${o.metadata?.namespace}/${o.metadata?.name}`, slim);
      shared.push(shareWithInformer(informer, o, slim));
    });
    await informer.start();
    expect(shared).toEqual([true]);
    expect(informer.list()).toHaveLength(1);
    expect(informer.list()[0]).toBe(store.get('default/web'));
    await informer.stop();
  });

  it('changes nothing when the cache does not hold that object', () => {
    const informer = new ListWatch<KubernetesObject>('/x', {} as Watch, async () => ({ metadata: {}, items: [] }), false);
    expect(shareWithInformer(informer, listed(), slimCopy(listed()))).toBe(false);
    expect(informer.list()).toEqual([]);
  });
});
