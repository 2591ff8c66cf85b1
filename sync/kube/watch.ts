// The agent's view of the cluster: one informer per kind (list, then watch), a store of plain-JSON copies
// of the objects, and a callback per change. An informer that stops on an error is restarted with backoff
// (client-node 1.4 informers stop for good after any error but 410; informer-backoff.ts says how long). I/O
// lives here, never in the compiler.
import {
  CoreV1Api,
  DiscoveryV1Api,
  ListWatch,
  NetworkingV1Api,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { ClusterObjects } from '../compile/types.ts';
import { InformerBackoff, shouldLogFailure } from './informer-backoff.ts';
import { shareWithInformer, slimCopy } from './one-copy.ts';

export type Kind = 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret' | 'ConfigMap';

export interface WatchOptions {
  onChange(kind: Kind): void;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Extra label selector for TLS Secrets (only those are watched); empty: every kubernetes.io/tls Secret. */
  secretLabelSelector?: string;
  /** Re-open every watch this often (from its last resource version: nothing is re-listed unless the
   * apiserver answers 410). client-node 1.4 watches have no timeout, so a half-open connection would
   * otherwise leave the agent on a stale view until TCP gives up (minutes). Default 5 minutes. */
  rewatchMs?: number;
  /** The controller ConfigMap (--nginx-configmap), watched alone (a field selector on its name), so a change to
   * it applies like any other object's. */
  configMap?: { namespace: string; name: string };
  /** `namespace/name` of the one Service whose status changes count as changes (--publish-service: Ingress
   * status follows its load balancer addresses); every other object's status is ignored. */
  statusOfService?: string;
}

interface Source {
  kind: Kind;
  informer: ListWatch<KubernetesObject>;
  store: Map<string, unknown>;
  /** True once a list succeeded (client-node's start() also resolves when the list failed). */
  synced: boolean;
  onSynced: () => void;
  whenSynced: Promise<void>;
  /** Failures since the informer last listed or received an event: the wait grows with them. */
  backoff: InformerBackoff;
  restart: NodeJS.Timeout | null;
  /** Set while this agent closes the watch itself: the abort error that follows is not a failure. */
  closing: boolean;
}

const key = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** What the compiler can see of an object: everything but status and bookkeeping. An update that changes
 * none of it (our own status write, a managedFields shuffle) needs no recompile. */
function relevant(o: unknown): string {
  const { status: _s, metadata, ...rest } = o as { status?: unknown; metadata?: Record<string, unknown> };
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...meta } = metadata ?? {};
  return JSON.stringify({ ...rest, metadata: meta });
}

export class ClusterWatch {
  private readonly sources: Source[];
  private stopped = false;
  private rewatchTimer: NodeJS.Timeout | null = null;
  restarts = 0;
  rewatches = 0;
  /** Objects whose informer cache entry is the agent's own copy (one-copy.ts); a test checks it is every one. */
  shared = 0;

  constructor(
    kc: KubeConfig,
    private readonly o: WatchOptions,
  ) {
    const net = kc.makeApiClient(NetworkingV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const disco = kc.makeApiClient(DiscoveryV1Api);
    const watch = new Watch(kc);
    type List = () => Promise<KubernetesListObject<KubernetesObject>>;
    const make = (kind: Kind, path: string, list: List, labelSelector?: string, fieldSelector?: string): Source => {
      let onSynced = (): void => {};
      const whenSynced = new Promise<void>((resolve) => (onSynced = resolve));
      return {
        kind,
        informer: new ListWatch<KubernetesObject>(path, watch, list, false, labelSelector, fieldSelector),
        store: new Map(),
        synced: false,
        onSynced,
        whenSynced,
        backoff: new InformerBackoff(),
        restart: null,
        closing: false,
      };
    };
    const tls = 'type=kubernetes.io/tls';
    const labels = o.secretLabelSelector || undefined;
    this.sources = [
      make('IngressClass', '/apis/networking.k8s.io/v1/ingressclasses', () => net.listIngressClass() as ReturnType<List>),
      make('Ingress', '/apis/networking.k8s.io/v1/ingresses', () => net.listIngressForAllNamespaces() as ReturnType<List>),
      make('Service', '/api/v1/services', () => core.listServiceForAllNamespaces() as ReturnType<List>),
      make(
        'EndpointSlice',
        '/apis/discovery.k8s.io/v1/endpointslices',
        () => disco.listEndpointSliceForAllNamespaces() as ReturnType<List>,
      ),
      make(
        'Secret',
        '/api/v1/secrets',
        () => core.listSecretForAllNamespaces({ fieldSelector: tls, ...(labels ? { labelSelector: labels } : {}) }) as ReturnType<List>,
        labels,
        tls,
      ),
    ];
    const cm = o.configMap;
    if (cm !== undefined) {
      const byName = `metadata.name=${cm.name}`;
      this.sources.push(
        make(
          'ConfigMap',
          `/api/v1/namespaces/${encodeURIComponent(cm.namespace)}/configmaps`,
          () => core.listNamespacedConfigMap({ namespace: cm.namespace, fieldSelector: byName }) as ReturnType<List>,
          undefined,
          byName,
        ),
      );
    }
    for (const s of this.sources) {
      const put = (obj: KubernetesObject): void => {
        s.backoff.reset(); // the watch works again
        const k = key(obj);
        const before = s.store.get(k);
        // One copy of each object, plain JSON, shared with the informer's cache (one-copy.ts).
        let after = slimCopy(obj);
        const statusMatters = s.kind === 'Service' && k === o.statusOfService;
        const changed =
          before === undefined ||
          relevant(before) !== relevant(after) ||
          (statusMatters &&
            JSON.stringify((before as { status?: unknown }).status) !== JSON.stringify((after as { status?: unknown }).status));
        // Only what the compiler does not read changed (an Ingress status the agent just wrote, a resourceVersion):
        // the stored object keeps its identity, with the new fields copied in, since identity is how the
        // incremental compiler tells a changed object (compile/incremental.ts). A bulk of status writes would
        // otherwise make every host look changed to the next compile.
        if (!changed && before !== undefined) after = Object.assign(before as KubernetesObject, after);
        s.store.set(k, after);
        if (shareWithInformer(s.informer, obj, after)) this.shared++;
        if (s.synced && changed) o.onChange(s.kind);
      };
      s.informer.on('add', put);
      s.informer.on('update', put);
      s.informer.on('delete', (obj) => {
        s.store.delete(key(obj));
        if (s.synced) o.onChange(s.kind);
      });
      s.informer.on('error', (err) => {
        if (!s.closing) this.restartLater(s, err);
      });
    }
  }

  /** Resolves once every informer has listed successfully (the first table must see everything). */
  async start(): Promise<void> {
    await Promise.all(
      this.sources.map(async (s) => {
        await this.run(s);
        await s.whenSynced;
      }),
    );
    this.rewatchTimer = setInterval(() => void this.rewatch(), this.o.rewatchMs ?? 300_000);
  }

  private async rewatch(): Promise<void> {
    for (const s of this.sources) {
      if (this.stopped || !s.synced || s.restart !== null) continue;
      this.rewatches++;
      s.closing = true;
      await s.informer.stop();
      // Let the aborted watch's done handler run before a new watch starts (it would abort the new one).
      await new Promise((r) => setTimeout(r, 50));
      s.closing = false;
      void this.run(s);
    }
  }

  /** start() of client-node resolves whether or not the list worked; a failed list also emits 'error',
   * which schedules the retry. A resource version means the list went through. */
  private async run(s: Source): Promise<void> {
    await s.informer.start().catch((err: unknown) => this.restartLater(s, err));
    // No restart scheduled: the list went through, so the next outage starts backing off afresh.
    if (s.restart === null && s.informer.latestResourceVersion() !== '') s.backoff.reset();
    // After a restart or re-watch, whatever changed meanwhile arrives through the add/update/delete handlers.
    if (!s.synced && s.informer.latestResourceVersion() !== '') {
      s.synced = true;
      s.onSynced();
    }
  }

  private restartLater(s: Source, err: unknown): void {
    if (this.stopped || s.restart !== null) return;
    const ms = s.backoff.next(err);
    const failures = s.backoff.failures;
    if (shouldLogFailure(failures))
      this.o.log(
        'warn',
        `${s.kind} informer stopped (${(err as Error)?.message ?? String(err)}); restarting in ${ms} ms${failures > 1 ? ` (failure ${failures} in a row)` : ''}`,
      );
    s.restart = setTimeout(() => {
      s.restart = null;
      this.restarts++;
      void this.run(s);
    }, ms);
  }

  get synced(): boolean {
    return this.sources.every((s) => s.synced);
  }

  /** Plain-JSON objects as the compiler takes them. */
  snapshot(): ClusterObjects {
    const of = (kind: Kind) => [...(this.sources.find((s) => s.kind === kind)?.store.values() ?? [])] as never[];
    return {
      ingresses: of('Ingress'),
      ingressClasses: of('IngressClass'),
      services: of('Service'),
      endpointSlices: of('EndpointSlice'),
      secrets: of('Secret'),
      configMaps: of('ConfigMap'),
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.rewatchTimer !== null) clearInterval(this.rewatchTimer);
    for (const s of this.sources) {
      if (s.restart !== null) clearTimeout(s.restart);
      await s.informer.stop().catch(() => {});
    }
  }
}
