// The status ledger: which addresses this agent wrote into which Ingress's status, kept in a ConfigMap of its
// own (`<lease name>-status` beside its Lease), so that after a restart, a new leader or changed class flags
// it still clears exactly what it wrote (status.ts). Only the leader reads and writes it. RBAC: create
// ConfigMaps in its namespace, get and update only this one (infra/rbac/agent.yaml).
//
// One JSON value under one key; a ConfigMap holds at most 1 MiB. Past 256 KiB (about 2,600 Ingresses) the value is
// stored gzipped (own-configmap.ts): about 30 bytes per Ingress instead of 100, so over 30,000 Ingresses fit
// (test/k8s/own-configmap.test.ts stores 20,000). A ledger that cannot be stored stops status writes (an address that is not recorded could never be cleared), with a
// failed-write count and a log line.
import { PorticoError } from '../../gateway/table/portico-error.ts';
import { OwnConfigMap } from './own-configmap.ts';
import type { KubeRest } from './rest.ts';
import type { LedgerEntry, LoadBalancerIngress } from './status.ts';

const KEY = 'written.json';

export class StatusLedgerError extends PorticoError {
  readonly code = 'PORTICO_STATUS_LEDGER';
}

function serialise(entries: ReadonlyMap<string, LedgerEntry>): string {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(Object.fromEntries(sorted));
}

const isAddress = (v: unknown): v is LoadBalancerIngress =>
  typeof v === 'object' && v !== null && Object.entries(v).every(([k, x]) => (k === 'ip' || k === 'hostname') && typeof x === 'string');

/** Strict: a malformed ledger is refused as a whole (and replaced by the next store), never half read. */
export function parseLedger(text: string): Map<string, LedgerEntry> {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StatusLedgerError('the ledger is not a JSON object');
  const out = new Map<string, LedgerEntry>();
  for (const [key, v] of Object.entries(raw)) {
    const e = v as { uid?: unknown; addresses?: unknown };
    if (typeof e?.uid !== 'string' || !Array.isArray(e.addresses) || !e.addresses.every(isAddress))
      throw new StatusLedgerError(`the ledger entry ${JSON.stringify(key)} is malformed`);
    out.set(key, { uid: e.uid, addresses: e.addresses });
  }
  return out;
}

export class StatusLedger {
  private readonly cm: OwnConfigMap;
  entries: Map<string, LedgerEntry> = new Map();
  loaded = false;

  constructor(
    rest: KubeRest,
    namespace: string,
    readonly name: string,
    private readonly log: (level: 'info' | 'warn' | 'error', msg: string) => void,
    /** The lease term this agent leads in, null when it does not lead (OwnConfigMap). */
    leadership?: () => number | null,
  ) {
    this.cm = new OwnConfigMap(rest, namespace, name, KEY, leadership);
  }

  /** Reads the ledger (a new leader does, before its first status write). Absent: empty. */
  async load(): Promise<void> {
    this.entries = await this.cm.loadParsed(parseLedger, 'status ledger', this.log);
    this.loaded = true;
  }

  /** Stores `entries` unless they are what is stored already. False: not stored, this agent no longer leads in the
   * term it started the store in (`entries` stay what they were). */
  async store(entries: ReadonlyMap<string, LedgerEntry>): Promise<boolean> {
    const text = serialise(entries);
    // Nothing recorded and nothing to record (an agent that never wrote a status): no ConfigMap is made.
    if (!(this.cm.stored === null && entries.size === 0) && !(await this.cm.store(text))) return false;
    this.entries = new Map(entries);
    return true;
  }
}
