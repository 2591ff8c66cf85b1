// Each watched object is kept once, and only what the agent reads of it. The informer of client-node keeps every
// object it lists or watches in a cache of its own (needed: it finds deletions on a re-list by comparing with it), and
// the agent needs plain JSON (list results carry Date objects and model classes) and the previous version of an
// object (to tell a change the compiler can see from one it cannot). Keeping both doubled the agent's memory; so the
// agent's slim plain copy replaces the informer's entry, and both maps point at the same object.
// Slim: metadata.managedFields (server-side apply bookkeeping, often bigger than the spec) and kubectl's
// last-applied-configuration annotation (a second copy of the whole object as text) are never read by the compiler,
// the status writer or the class report; everything else is kept, resourceVersion included (the informer compares it).
import type { KubernetesObject, ListWatch } from '@kubernetes/client-node';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A plain-JSON copy of `o` without managed fields and kubectl's last-applied copy. */
export function slimCopy(o: KubernetesObject): KubernetesObject {
  return JSON.parse(
    JSON.stringify(o, function (this: unknown, k, v: unknown) {
      if (k === 'managedFields' && this === o.metadata) return undefined;
      if (k === LAST_APPLIED && this === o.metadata?.annotations) return undefined;
      return v;
    }),
  ) as KubernetesObject;
}

/** The informer's cache as client-node 1.4 lays it out (cache.js: namespace → name → object). Private there, so
 * checked at run time: when the layout is not this one, the informer keeps its own copy (more memory, still correct). */
type CacheLayout = Map<string, Map<string, KubernetesObject>>;

function cacheOf(informer: ListWatch<KubernetesObject>): CacheLayout | null {
  const objects = (informer as unknown as { objects?: unknown }).objects;
  return objects instanceof Map ? (objects as CacheLayout) : null;
}

/** Puts `slim` in place of `original` in the informer's cache; false when the cache does not hold `original` there. */
export function shareWithInformer(informer: ListWatch<KubernetesObject>, original: KubernetesObject, slim: KubernetesObject): boolean {
  const byName = cacheOf(informer)?.get(original.metadata?.namespace || '');
  const name = original.metadata?.name || '';
  if (byName?.get(name) !== original) return false;
  byName.set(name, slim);
  return true;
}
