// Which Events the agent has sent, kept in a ConfigMap of its own (`<lease name>-events` beside its Lease), so that a
// new leader does not send them again: before it, every failover re-sent a Sync Event for every Ingress (a thousand
// POSTs per failover at a thousand Ingresses, all of them repeating what the Ingress's Events already said). Events
// are informational (kubectl describe), so a lost ledger only means they are sent once more.
//
// Stored: Ingress uid → digests (SHA-256, 64 bits, hex) of the Event keys sent for it (events.ts: `uid/sync/<generation>`,
// `uid/<code>/<message>`). Only the digests of Events that could be due now are kept (events.ts currentEventKeys: the
// current generation's Sync and the current Warnings), so its size follows the objects, not their history: keeping
// every key ever sent, each edit added a Sync digest and each changed Warning message one more, and 10,000 Ingresses
// edited 8 times passed the 1 MiB a ConfigMap holds even gzipped; every store was then refused and the next failover
// sent everything again. One Sync digest per Ingress: ~60 bytes of JSON, ~41 stored (gzipped above 256 KiB,
// own-configmap.ts), so 10,000 Ingresses take ~0.4 MB. An Ingress that is gone leaves nothing (by uid: a re-created
// Ingress is a new one).
import { createHash } from 'node:crypto';
import { PorticoError } from '../../gateway/table/portico-error.ts';
import { OwnConfigMap } from './own-configmap.ts';
import type { KubeRest } from './rest.ts';

const KEY = 'sent.json';

export class EventLedgerError extends PorticoError {
  readonly code = 'PORTICO_EVENT_LEDGER';
}

/** The digest recorded for an Event key (whose first segment is the Ingress uid). */
export const eventDigest = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 16);

const uidOf = (key: string): string => key.slice(0, Math.max(0, key.indexOf('/')));

/** Strict: a malformed ledger is refused as a whole (and replaced by the next store), never half read. */
export function parseEventLedger(text: string): Map<string, Set<string>> {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new EventLedgerError('the Event ledger is not a JSON object');
  const out = new Map<string, Set<string>>();
  for (const [uid, v] of Object.entries(raw)) {
    if (!Array.isArray(v) || !v.every((d) => typeof d === 'string' && /^[0-9a-f]{16}$/.test(d)))
      throw new EventLedgerError(`the Event ledger entry ${JSON.stringify(uid)} is malformed`);
    out.set(uid, new Set(v as string[]));
  }
  return out;
}

export function serialiseEventLedger(sent: ReadonlyMap<string, ReadonlySet<string>>): string {
  const uids = [...sent.keys()].filter((u) => (sent.get(u)?.size ?? 0) > 0).sort();
  return JSON.stringify(Object.fromEntries(uids.map((u) => [u, [...sent.get(u)!].sort()])));
}

export class EventLedger {
  private readonly cm: OwnConfigMap;
  /** Digests of the Event keys sent, by Ingress uid. */
  private sent = new Map<string, Set<string>>();
  loaded = false;

  constructor(
    rest: KubeRest,
    namespace: string,
    readonly name: string,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void,
    /** The lease term this agent leads in, null when it does not lead: a deposed one stores nothing (its store would
     * overwrite the new leader's, OwnConfigMap.store re-reading on a conflict). */
    private readonly leadership: () => number | null = () => 0,
  ) {
    this.cm = new OwnConfigMap(rest, namespace, name, KEY, leadership);
  }

  /** Reads what the previous leaders sent (a new leader does, before its first Event). Absent or malformed: none. */
  async load(): Promise<void> {
    this.sent = await this.cm.loadParsed(parseEventLedger, 'Event ledger', this.log);
    this.loaded = true;
  }

  has(key: string): boolean {
    return this.sent.get(uidOf(key))?.has(eventDigest(key)) ?? false;
  }

  add(key: string): void {
    const uid = uidOf(key);
    (this.sent.get(uid) ?? this.sent.set(uid, new Set()).get(uid)!).add(eventDigest(key));
  }

  /** Keeps only the digests of `keys`, the Events that could be due now (events.ts currentEventKeys): an older
   * generation's Sync, a Warning no longer reported and every Event of an Ingress that is gone are forgotten. */
  retain(keys: Iterable<string>): void {
    const keep = new Map<string, Set<string>>();
    for (const key of keys) {
      const uid = uidOf(key);
      (keep.get(uid) ?? keep.set(uid, new Set()).get(uid)!).add(eventDigest(key));
    }
    for (const [uid, digests] of this.sent) {
      const now = keep.get(uid);
      for (const d of digests) if (now?.has(d) !== true) digests.delete(d);
      if (digests.size === 0) this.sent.delete(uid);
    }
  }

  /** Stores what was sent (one write, and none when nothing changed). Nothing sent yet: no ConfigMap is made. Not
   * leading any more: nothing is stored. */
  async store(): Promise<void> {
    if (this.leadership() === null) return;
    if (this.cm.stored === null && this.sent.size === 0) return;
    await this.cm.store(serialiseEventLedger(this.sent));
  }
}
