// Events on Ingresses: Normal `Sync` when a generation of an Ingress of our class is accepted
// (ingress-nginx's habit), and one Warning per diagnostic (reason = the diagnostic code), each emitted once
// per distinct message, so a recompile does not repeat them, nor a new leader (the Event ledger, event-ledger.ts).
import type { CompileResult, Ingress } from '../compile/types.ts';
import type { KubeRest } from './rest.ts';

export interface PlannedEvent {
  ingress: Ingress;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Dedup key. */
  key: string;
}

const generationOf = (ing: Ingress): number => (ing.metadata as { generation?: number } | undefined)?.generation ?? 0;

/** The key of the Sync Event for an Ingress's current generation. */
const syncEventKey = (ing: Ingress): string => `${ing.metadata?.uid}/sync/${generationOf(ing)}`;

/** The keys of the Events that could be due now, sent or not: the current generation's Sync of every Ingress (of our
 * class now or not, so one taken out of it and back at the same generation is not announced twice) and the current
 * Warnings. What the Event ledger keeps (EventLedger.retain): an older generation's Sync can never be due again, and
 * a Warning that went away is sent once more if it comes back, as the new occurrence it is. So the ledger holds at
 * most one Sync and the current Warnings per Ingress, however often the Ingresses are edited. Pure. */
export function currentEventKeys(result: CompileResult, ingresses: readonly Ingress[], controller: string): Set<string> {
  const keys = new Set(dueEvents(result, ingresses, { has: () => false }, controller).map((e) => e.key));
  for (const ing of ingresses) keys.add(syncEventKey(ing));
  return keys;
}

/** Events that are due, given what was already emitted (`seen`: a Set of keys, or the Event ledger). Pure. */
export function dueEvents(
  result: CompileResult,
  ingresses: readonly Ingress[],
  seen: { has(key: string): boolean },
  controller: string,
): PlannedEvent[] {
  const byRef = new Map(ingresses.map((i) => [`${i.metadata?.namespace}/${i.metadata?.name}`, i] as const));
  const out: PlannedEvent[] = [];
  for (const r of result.accepted) {
    const ing = byRef.get(`${r.namespace}/${r.name}`);
    if (ing === undefined) continue;
    const gen = generationOf(ing);
    const key = syncEventKey(ing);
    if (!seen.has(key))
      out.push({ ingress: ing, type: 'Normal', reason: 'Sync', message: `Accepted by ${controller} (generation ${gen})`, key });
  }
  for (const d of result.diagnostics) {
    if (d.object.kind !== 'Ingress' || d.severity !== 'Warning') continue;
    const ing = byRef.get(`${d.object.namespace}/${d.object.name}`);
    if (ing === undefined) continue;
    const key = `${ing.metadata?.uid}/${d.code}/${d.message}`;
    if (!seen.has(key)) out.push({ ingress: ing, type: 'Warning', reason: d.code, message: d.message, key });
  }
  return out;
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function emitEvent(rest: KubeRest, e: PlannedEvent, instance: string): Promise<void> {
  const m = e.ingress.metadata ?? {};
  const now = rfc3339(new Date());
  await rest.request('POST', `/api/v1/namespaces/${encodeURIComponent(m.namespace ?? 'default')}/events`, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${m.name}.`, namespace: m.namespace },
    involvedObject: {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: (m as { resourceVersion?: string }).resourceVersion,
    },
    type: e.type,
    reason: e.reason,
    message: e.message.slice(0, 1024),
    source: { component: 'portico-sync' },
    reportingComponent: 'portico.dev/sync',
    reportingInstance: instance.slice(0, 128),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  });
}
