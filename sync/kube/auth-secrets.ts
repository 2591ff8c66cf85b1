// The Secrets that basic and digest authentication (auth-secret), client certificates (auth-tls-secret) and upstream
// TLS (proxy-ssl-secret) name, the
// Secrets and ConfigMaps that hold JWT public keys (portico.dev/auth-jwt-jwks-secret, -jwks-configmap), and the
// ConfigMaps of headers for the external auth subrequest (auth-proxy-set-headers) and for responses (custom-headers),
// read one by one by name: they are
// usually Opaque, so the TLS Secret informer (fieldSelector type=kubernetes.io/tls) never sees them,
// and listing or watching every Secret or ConfigMap of the cluster to find a few would hand the agent every
// credential there is. A GET per named object when the Ingresses name a new one, and again on a schedule, so a
// changed password or a rotated key reaches the table within one period.
import { AUTH_PROXY_SET_HEADERS, proxySetHeadersRef } from '../compile/auth-proxy-headers.ts';
import { NGINX_PREFIX } from '../compile/annotation-prefixes.ts';
import { AUTH_SECRET, AUTH_TYPE, secretRef } from '../compile/basic-auth.ts';
import { AUTH_TLS_SECRET } from '../compile/client-certificates.ts';
import { PROXY_SSL_SECRET } from '../compile/proxy-ssl-annotations.ts';
import { classSelector } from '../compile/classes.ts';
import { CUSTOM_HEADERS, customHeadersRef } from '../compile/custom-headers.ts';
import { objectInfo } from '../compile/objects.ts';
import { JWT_ANNOTATIONS, jwksSource } from '../compile/jwt-annotations.ts';
import type { ClusterObjects, CompileOptions, ConfigMap, Secret } from '../compile/types.ts';
import { KubeApiError, type KubeRest } from './rest.ts';

/** `namespace/name` of every Secret one of our Ingresses (by class, as the compiler selects them) names with
 * auth-type and auth-secret, or with auth-tls-secret, in its own namespace (the compiler refuses another
 * namespace's, so the agent never reads one). Another controller's Ingresses name Secrets the agent has no
 * business reading. */
export function authSecretRefs(objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>, options: CompileOptions): Set<string> {
  const isOurs = classSelector(objects.ingressClasses, options, []);
  const out = new Set<string>();
  for (const ing of objects.ingresses) {
    const a = ing.metadata?.annotations ?? {};
    const ns = ing.metadata?.namespace;
    if (ns === undefined) continue;
    const named = [a[AUTH_TYPE] === undefined ? undefined : a[AUTH_SECRET], a[AUTH_TLS_SECRET], a[PROXY_SSL_SECRET]];
    for (const value of named) {
      if (typeof value !== 'string') continue;
      const ref = secretRef(value.trim());
      if (ref === null || (ref.namespace ?? ns) !== ns || !isOurs(objectInfo(ing))) continue;
      out.add(`${ns}/${ref.name}`);
    }
  }
  return out;
}

/** What the JWT annotations of our Ingresses name: Secrets and ConfigMaps (`namespace/name`, own namespace only, as
 * the compiler accepts them) and URLs. */
export function jwtSourceRefs(
  objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>,
  options: CompileOptions,
): { secrets: Set<string>; configMaps: Set<string>; urls: Set<string> } {
  const isOurs = classSelector(objects.ingressClasses, options, []);
  const out = { secrets: new Set<string>(), configMaps: new Set<string>(), urls: new Set<string>() };
  for (const ing of objects.ingresses) {
    const a = ing.metadata?.annotations ?? {};
    const ns = ing.metadata?.namespace;
    if (ns === undefined) continue;
    for (const key of [JWT_ANNOTATIONS.url, JWT_ANNOTATIONS.secret, JWT_ANNOTATIONS.configMap]) {
      const value = a[key];
      if (typeof value !== 'string' || !isOurs(objectInfo(ing))) continue;
      const src = jwksSource(key, value.trim());
      if ('error' in src) continue;
      if (src.kind === 'url') out.urls.add(src.url);
      else if ((src.namespace ?? ns) === ns) (src.kind === 'secret' ? out.secrets : out.configMaps).add(`${ns}/${src.name}`);
    }
  }
  return out;
}

/** `namespace/name` of every ConfigMap one of our Ingresses names with auth-proxy-set-headers beside auth-url (the
 * compiler reads it only then), in its own namespace (the compiler refuses another namespace's). */
export function proxySetHeadersRefs(objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>, options: CompileOptions): Set<string> {
  const isOurs = classSelector(objects.ingressClasses, options, []);
  const out = new Set<string>();
  for (const ing of objects.ingresses) {
    const a = ing.metadata?.annotations ?? {};
    const ns = ing.metadata?.namespace;
    const value = a[AUTH_PROXY_SET_HEADERS];
    if (ns === undefined || typeof value !== 'string' || a[`${NGINX_PREFIX}auth-url`] === undefined) continue;
    const ref = proxySetHeadersRef(value);
    if (ref === null || (ref.namespace ?? ns) !== ns || !isOurs(objectInfo(ing))) continue;
    out.add(`${ns}/${ref.name}`);
  }
  return out;
}

/** `namespace/name` of every ConfigMap one of our Ingresses names with custom-headers, in its own namespace (the
 * compiler refuses another namespace's). */
export function customHeadersRefs(objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>, options: CompileOptions): Set<string> {
  const isOurs = classSelector(objects.ingressClasses, options, []);
  const out = new Set<string>();
  for (const ing of objects.ingresses) {
    const ns = ing.metadata?.namespace;
    const value = ing.metadata?.annotations?.[CUSTOM_HEADERS];
    if (ns === undefined || typeof value !== 'string') continue;
    const ref = customHeadersRef(value);
    if (ref === null || (ref.namespace ?? ns) !== ns || !isOurs(objectInfo(ing))) continue;
    out.add(`${ns}/${ref.name}`);
  }
  return out;
}

type Named = Secret | ConfigMap;

/** Only what the compiler reads: no managed fields, no annotations (kubectl's last-applied copy). */
function trimmed(o: Named, kind: 'Secret' | 'ConfigMap'): Named {
  const m = o.metadata ?? {};
  const metadata = { ...(m.namespace === undefined ? {} : { namespace: m.namespace }), ...(m.name === undefined ? {} : { name: m.name }) };
  if (kind === 'ConfigMap') {
    const c = o as ConfigMap;
    return {
      apiVersion: 'v1',
      kind,
      metadata,
      ...(c.data === undefined ? {} : { data: c.data }),
      ...(c.binaryData === undefined ? {} : { binaryData: c.binaryData }),
    };
  }
  const s = o as Secret;
  return {
    apiVersion: 'v1',
    kind,
    metadata,
    ...(s.type === undefined ? {} : { type: s.type }),
    ...(s.data === undefined ? {} : { data: s.data }),
  };
}

/** Secrets (or ConfigMaps) read by name. */
export class AuthSecrets<T extends Named = Secret> {
  /** By `namespace/name`; null: the object does not exist (404). */
  private readonly known = new Map<string, T | null>();

  constructor(
    private readonly rest: KubeRest,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void,
    private readonly kind: 'Secret' | 'ConfigMap' = 'Secret',
  ) {}

  /** The objects read so far that exist. */
  secrets(): T[] {
    return [...this.known.values()].filter((s): s is T => s !== null);
  }

  /** Reads the Secrets of `refs` (only those not read yet unless `all`), forgets the others; true when what the
   * compiler would see changed. A read that fails for another reason than 404 keeps the last answer. */
  async refresh(refs: ReadonlySet<string>, all: boolean): Promise<boolean> {
    let changed = false;
    for (const id of [...this.known.keys()]) {
      if (refs.has(id)) continue;
      this.known.delete(id);
      changed = true;
    }
    for (const id of refs) {
      if (!all && this.known.has(id)) continue;
      const [ns, name] = id.split('/') as [string, string];
      let next: T | null;
      const resource = this.kind === 'Secret' ? 'secrets' : 'configmaps';
      try {
        next = trimmed(
          await this.rest.request<T>('GET', `/api/v1/namespaces/${encodeURIComponent(ns)}/${resource}/${encodeURIComponent(name)}`),
          this.kind,
        ) as T;
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 404)) {
          // Forbidden, a timeout, a restarting apiserver: keep what was read (a missing Secret stays missing).
          this.log('warn', `reading ${this.kind} ${id} (authentication) failed: ${(err as Error).message}`);
          if (!this.known.has(id)) {
            this.known.set(id, null);
            changed = true;
          }
          continue;
        }
        next = null;
      }
      const before = this.known.get(id);
      if (before === undefined || JSON.stringify(before) !== JSON.stringify(next)) changed = true;
      this.known.set(id, next);
    }
    return changed;
  }
}
