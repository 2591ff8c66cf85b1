// The agent's view of the cluster: one informer per kind (list, then watch), a store of plain-JSON copies
// of the objects, and a callback per change. An informer that stops on an error is restarted with backoff
// (client-node 1.4 informers stop for good after any error but 410). I/O lives here, never in the compiler.
import { CoreV1Api, DiscoveryV1Api, ListWatch, NetworkingV1Api, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { ClusterObjects } from '../compile/types.ts';

export type Kind = 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret';

export interface WatchOptions {
  onChange(kind: Kind): void;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Extra label selector for TLS Secrets (only those are watched); empty: every kubernetes.io/tls Secret. */
  secretLabelSelector?: string;
}

interface Source {
  kind: Kind;
  informer: ListWatch<KubernetesObject>;
  store: Map<string, unknown>;
  synced: boolean;
  failures: number;
  restart: NodeJS.Timeout | null;
}

const key = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
/** A plain-JSON copy: list results carry Date objects, watch events carry strings; the compiler reads strings. */
const plain = (o: KubernetesObject): unknown => JSON.parse(JSON.stringify(o));

export class ClusterWatch {
  private readonly sources: Source[];
  private stopped = false;
  restarts = 0;

  constructor(kc: KubeConfig, private readonly o: WatchOptions) {
    const net = kc.makeApiClient(NetworkingV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const disco = kc.makeApiClient(DiscoveryV1Api);
    const watch = new Watch(kc);
    type List = () => Promise<KubernetesListObject<KubernetesObject>>;
    const make = (kind: Kind, path: string, list: List, labelSelector?: string, fieldSelector?: string): Source => ({
      kind, informer: new ListWatch<KubernetesObject>(path, watch, list, false, labelSelector, fieldSelector), store: new Map(), synced: false, failures: 0, restart: null,
    });
    const tls = 'type=kubernetes.io/tls';
    const labels = o.secretLabelSelector || undefined;
    this.sources = [
      make('IngressClass', '/apis/networking.k8s.io/v1/ingressclasses', () => net.listIngressClass() as ReturnType<List>),
      make('Ingress', '/apis/networking.k8s.io/v1/ingresses', () => net.listIngressForAllNamespaces() as ReturnType<List>),
      make('Service', '/api/v1/services', () => core.listServiceForAllNamespaces() as ReturnType<List>),
      make('EndpointSlice', '/apis/discovery.k8s.io/v1/endpointslices', () => disco.listEndpointSliceForAllNamespaces() as ReturnType<List>),
      make('Secret', '/api/v1/secrets', () => core.listSecretForAllNamespaces({ fieldSelector: tls, ...(labels ? { labelSelector: labels } : {}) }) as ReturnType<List>, labels, tls),
    ];
    for (const s of this.sources) {
      const put = (obj: KubernetesObject): void => {
        s.store.set(key(obj), plain(obj));
        if (s.synced) o.onChange(s.kind);
      };
      s.informer.on('add', put);
      s.informer.on('update', put);
      s.informer.on('delete', (obj) => {
        s.store.delete(key(obj));
        if (s.synced) o.onChange(s.kind);
      });
      s.informer.on('connect', () => (s.failures = 0));
      s.informer.on('error', (err) => this.restartLater(s, err));
    }
  }

  /** Resolves once every informer has listed once (the first table must see everything). */
  async start(): Promise<void> {
    await Promise.all(this.sources.map((s) => this.startOne(s)));
  }

  private async startOne(s: Source): Promise<void> {
    for (;;) {
      try {
        await s.informer.start();
        s.synced = true;
        return;
      } catch (err) {
        if (this.stopped) return;
        s.failures++;
        this.o.log('warn', `listing ${s.kind} failed, retrying: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, backoff(s.failures)));
      }
    }
  }

  private restartLater(s: Source, err: unknown): void {
    if (this.stopped || s.restart !== null) return;
    s.failures++;
    const ms = backoff(s.failures);
    this.o.log('warn', `${s.kind} watch stopped (${(err as Error)?.message ?? String(err)}); restarting in ${ms} ms`);
    s.restart = setTimeout(() => {
      s.restart = null;
      this.restarts++;
      s.informer.start().then(() => this.o.onChange(s.kind), (e: unknown) => this.restartLater(s, e));
    }, ms);
  }

  get synced(): boolean {
    return this.sources.every((s) => s.synced);
  }

  /** Plain-JSON objects as the compiler takes them. */
  snapshot(): ClusterObjects {
    const of = (kind: Kind) => [...this.sources.find((s) => s.kind === kind)!.store.values()] as never[];
    return { ingresses: of('Ingress'), ingressClasses: of('IngressClass'), services: of('Service'), endpointSlices: of('EndpointSlice'), secrets: of('Secret') };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.sources) {
      if (s.restart !== null) clearTimeout(s.restart);
      await s.informer.stop().catch(() => {});
    }
  }
}

const backoff = (failures: number): number => Math.min(250 * 2 ** Math.min(failures - 1, 7), 30_000);
