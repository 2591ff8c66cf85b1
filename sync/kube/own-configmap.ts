// One JSON text under one key of a ConfigMap the agent owns beside its Lease (the status ledger, status-ledger.ts;
// the Event ledger, event-ledger.ts). Only the leader reads and writes it. RBAC: create ConfigMaps in its namespace,
// get and update only these by name (infra/rbac/agent.yaml). A ConfigMap holds at most 1 MiB (etcd's request
// limit): a text over COMPRESS_ABOVE is stored gzipped under `binaryData` (`<key>.gz`), so a ledger of ~100 bytes per
// Ingress still fits at tens of thousands of Ingresses; a small one stays readable with kubectl.
import { gunzipSync, gzipSync } from 'node:zlib';
import { KubeApiError, type KubeRest } from './rest.ts';

/** Texts up to this size are stored as they are, larger ones gzipped (ledgers compress about tenfold). */
export const COMPRESS_ABOVE = 256 * 1024;

interface ConfigMapBody {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export class OwnConfigMap {
  private resourceVersion: string | null = null;
  /** The text stored now; null: no ConfigMap (or never read). */
  stored: string | null = null;

  constructor(
    private readonly rest: KubeRest,
    private readonly namespace: string,
    readonly name: string,
    private readonly key: string,
    /** The lease term this replica leads in, null when it does not lead. A conflict on store is, most often, the
     * next leader's write: a replica that no longer leads in the term it started the store in (deposed, or deposed
     * and elected again meanwhile) does not store over it. */
    private readonly leadership: () => number | null = () => 0,
  ) {}

  private get path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.namespace)}/configmaps`;
  }

  /** The stored text; null when there is no ConfigMap (404) or it has no such key. */
  async load(): Promise<string | null> {
    try {
      const cm = await this.rest.request<ConfigMapBody>('GET', `${this.path}/${encodeURIComponent(this.name)}`);
      this.resourceVersion = cm.metadata?.resourceVersion ?? null;
      const gz = cm.binaryData?.[`${this.key}.gz`];
      this.stored = cm.data?.[this.key] ?? (gz === undefined ? null : gunzipSync(Buffer.from(gz, 'base64')).toString('utf8'));
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
      this.resourceVersion = null;
      this.stored = null;
    }
    return this.stored;
  }

  /** The stored text through `parse` (absent: `parse('{}')`). A text `parse` refuses is logged and the ledger starts
   * empty: the next store replaces it, never half read. */
  async loadParsed<T>(parse: (text: string) => T, what: string, log: (level: 'warn', msg: string) => void): Promise<T> {
    const text = await this.load();
    try {
      return parse(text ?? '{}');
    } catch (err) {
      log('warn', `${what} ${this.namespace}/${this.name}: ${(err as Error).message}; starting from an empty one`);
      return parse('{}');
    }
  }

  /** Stores `text` unless it is stored already. A conflict (someone edited it) reads the resourceVersion again
   * and stores once more while this replica still leads: only the leader writes it, so then ours is the truth.
   * Returns whether `text` was stored (false: not leading, or deposed during the store: the next leader's text stays). */
  async store(text: string): Promise<boolean> {
    if (text === this.stored) return true;
    const term = this.leadership();
    if (term === null) return false;
    const stillLeading = () => this.leadership() === term;
    const body = (rv: string | null) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'portico-sync' },
        ...(rv === null ? {} : { resourceVersion: rv }),
      },
      // A PUT replaces the object: the form not written now is gone.
      ...(text.length > COMPRESS_ABOVE
        ? { binaryData: { [`${this.key}.gz`]: gzipSync(text).toString('base64') } }
        : { data: { [this.key]: text } }),
    });
    const put = async (): Promise<ConfigMapBody> =>
      this.resourceVersion === null
        ? this.rest.request<ConfigMapBody>('POST', this.path, body(null))
        : this.rest.request<ConfigMapBody>('PUT', `${this.path}/${encodeURIComponent(this.name)}`, body(this.resourceVersion));
    let saved: ConfigMapBody;
    try {
      saved = await put();
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 409 || err.status === 404))) throw err;
      if (!stillLeading()) return false;
      try {
        const cm = await this.rest.request<ConfigMapBody>('GET', `${this.path}/${encodeURIComponent(this.name)}`);
        this.resourceVersion = cm.metadata?.resourceVersion ?? null;
      } catch (e) {
        if (!(e instanceof KubeApiError && e.status === 404)) throw e;
        this.resourceVersion = null;
      }
      if (!stillLeading()) return false;
      saved = await put();
    }
    this.resourceVersion = saved.metadata?.resourceVersion ?? null;
    this.stored = text;
    return true;
  }
}
