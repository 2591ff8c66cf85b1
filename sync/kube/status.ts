// Ingress status: `status.loadBalancer.ingress` lists the configured published addresses on every
// Ingress of our class, never on another class's, and is cleared when an Ingress leaves our class: one this
// agent saw in our class (`wasOurs`) whose status still holds exactly our addresses. Never an Ingress that was
// not ours: another controller publishing the same address would otherwise fight us for ever.
import { isIP } from 'node:net';
import type { ObjectRef } from '../../gateway/table/schema.ts';
import type { Ingress } from '../compile/types.ts';
import type { KubeRest } from './rest.ts';

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

export function desiredStatus(addresses: readonly string[]): LoadBalancerIngress[] {
  return addresses.map((a) => (isIP(a) ? { ip: a } : { hostname: a }));
}

const same = (a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean =>
  a.length === b.length && a.every((x, i) => (x.ip ?? '') === (b[i]?.ip ?? '') && (x.hostname ?? '') === (b[i]?.hostname ?? ''));

export interface StatusChange {
  ref: ObjectRef;
  to: LoadBalancerIngress[];
}

/** What to write: pure, so it is tested without a cluster. */
export function statusChanges(
  ingresses: readonly Ingress[],
  accepted: readonly ObjectRef[],
  desired: readonly LoadBalancerIngress[],
  wasOurs: ReadonlySet<string>,
): StatusChange[] {
  const ours = new Set(accepted.map((r) => `${r.namespace}/${r.name}`));
  const out: StatusChange[] = [];
  for (const ing of ingresses) {
    const ref = { namespace: ing.metadata?.namespace ?? '', name: ing.metadata?.name ?? '' };
    const current = ((ing as { status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } } }).status?.loadBalancer?.ingress ?? []).map(
      (x) => ({
        ...(x.ip ? { ip: x.ip } : {}),
        ...(x.hostname ? { hostname: x.hostname } : {}),
      }),
    );
    if (ours.has(`${ref.namespace}/${ref.name}`)) {
      if (!same(current, desired)) out.push({ ref, to: [...desired] });
    } else if (desired.length > 0 && wasOurs.has(`${ref.namespace}/${ref.name}`) && same(current, desired)) {
      out.push({ ref, to: [] });
    }
  }
  return out;
}

export async function writeStatus(rest: KubeRest, change: StatusChange): Promise<void> {
  const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(change.ref.namespace)}/ingresses/${encodeURIComponent(change.ref.name)}/status`;
  await rest.request('PATCH', path, { status: { loadBalancer: { ingress: change.to } } }, 'application/merge-patch+json');
}
