// Ingress status: `status.loadBalancer.ingress` lists the published addresses (--publish-address, or the
// --publish-service Service's) on every Ingress this agent serves, never on another. Portico clears only what it
// wrote: every address it writes is first recorded in its status ledger (status-ledger.ts, a ConfigMap it owns,
// so the record survives restarts and flag changes), and when an Ingress leaves its classes (or the published
// addresses go away) it takes exactly the recorded addresses out of that Ingress's status and leaves any other
// address, e.g. one ingress-nginx wrote, where it is. An address it did not write is never removed, even when it
// equals one of ours: another controller publishing the same load balancer would otherwise fight us for ever.
import { isIP } from 'node:net';
import type { ObjectRef } from '../../gateway/table/schema.ts';
import type { Ingress } from '../compile/types.ts';
import type { KubeRest } from './rest.ts';

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
}

/** What the ledger holds per Ingress (`namespace/name`): its uid (a re-created Ingress is not the one we wrote
 * to) and the addresses we wrote. */
export interface LedgerEntry {
  uid: string;
  addresses: LoadBalancerIngress[];
}
export type Ledger = ReadonlyMap<string, LedgerEntry>;

export function desiredStatus(addresses: readonly string[]): LoadBalancerIngress[] {
  return addresses.map((a) => (isIP(a) ? { ip: a } : { hostname: a }));
}

const sameAddress = (x: LoadBalancerIngress, y: LoadBalancerIngress): boolean =>
  (x.ip ?? '') === (y.ip ?? '') && (x.hostname ?? '') === (y.hostname ?? '');
const same = (a: readonly LoadBalancerIngress[], b: readonly LoadBalancerIngress[]): boolean =>
  a.length === b.length && a.every((x, i) => sameAddress(x, b[i]!));

export interface StatusChange {
  ref: ObjectRef;
  to: LoadBalancerIngress[];
}

export interface StatusPlan {
  changes: StatusChange[];
  /** The ledger to store before any change is written: it already names every address about to be written. */
  before: Map<string, LedgerEntry>;
  /** The ledger once every change landed: cleared entries gone. (A change that failed keeps its `before` entry.) */
  after: Map<string, LedgerEntry>;
}

const currentOf = (ing: Ingress): LoadBalancerIngress[] =>
  ((ing as { status?: { loadBalancer?: { ingress?: LoadBalancerIngress[] } } }).status?.loadBalancer?.ingress ?? []).map((x) => ({
    ...(x.ip ? { ip: x.ip } : {}),
    ...(x.hostname ? { hostname: x.hostname } : {}),
  }));

/**
 * What to write, and what the ledger says before and after: pure, so it is tested without a cluster.
 * `desired` null: the published addresses are unknown (the --publish-service Service does not exist): the
 * statuses of our Ingresses stay as they are. An empty `desired` (a LoadBalancer Service without addresses
 * yet, or no address flag at all) writes nothing new and takes our recorded addresses back out.
 */
export function planStatus(
  ingresses: readonly Ingress[],
  accepted: readonly ObjectRef[],
  desired: readonly LoadBalancerIngress[] | null,
  ledger: Ledger,
): StatusPlan {
  const ours = new Set(accepted.map((r) => `${r.namespace}/${r.name}`));
  const plan: StatusPlan = { changes: [], before: new Map(), after: new Map() };
  for (const ing of ingresses) {
    const ref = { namespace: ing.metadata?.namespace ?? '', name: ing.metadata?.name ?? '' };
    const key = `${ref.namespace}/${ref.name}`;
    const uid = ing.metadata?.uid ?? '';
    const recorded = ledger.get(key);
    const entry = recorded !== undefined && recorded.uid === uid ? recorded : undefined;
    const current = currentOf(ing);
    if (ours.has(key) && desired === null) {
      if (entry) {
        plan.before.set(key, entry);
        plan.after.set(key, entry);
      }
    } else if (ours.has(key) && desired !== null && desired.length > 0) {
      const mine = { uid, addresses: [...desired] };
      if (!same(current, desired)) {
        plan.changes.push({ ref, to: [...desired] });
        plan.before.set(key, mine);
        plan.after.set(key, mine);
      } else if (entry) {
        plan.before.set(key, mine);
        plan.after.set(key, mine);
      }
      // Already right and not in the ledger: someone else wrote it (or a ledger was lost); not claimed.
    } else if (entry) {
      const rest = current.filter((c) => !entry.addresses.some((a) => sameAddress(a, c)));
      if (rest.length !== current.length) {
        plan.changes.push({ ref, to: rest });
        plan.before.set(key, entry);
      }
      // Otherwise another writer replaced ours already: nothing of ours is left to clear, the entry goes.
    }
  }
  // Entries of Ingresses that no longer exist simply go: there is no status left to clear.
  return plan;
}

export async function writeStatus(rest: KubeRest, change: StatusChange): Promise<void> {
  const path = `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(change.ref.namespace)}/ingresses/${encodeURIComponent(change.ref.name)}/status`;
  await rest.request('PATCH', path, { status: { loadBalancer: { ingress: change.to } } }, 'application/merge-patch+json');
}
