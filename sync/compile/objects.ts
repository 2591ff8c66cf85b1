// Defensive readers for Kubernetes objects. The compiler treats every input as untrusted JSON: a field of
// the wrong type reads as missing instead of throwing, so one malformed object can only ever cost a
// diagnostic (docs/ARCHITECTURE.md, "Invariants").
import { canonicalJson } from '../../gateway/table/canonical.ts';
import { isRecord } from '../../gateway/table/names.ts';
import type { ObjectRef } from '../../gateway/table/schema.ts';

export type Fields = Readonly<Record<string, unknown>>;

const NO_FIELDS: Fields = Object.freeze({});

/** The fields of an object, or none when the value is not an object. */
export function fields(v: unknown): Fields {
  return isRecord(v) ? v : NO_FIELDS;
}

/** The elements of a list, or none when the value is not a list. */
export function items(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

export function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A non-empty string, or undefined. */
export function name(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Code-unit string order: the same on every machine, unlike localeCompare. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A value quoted for a diagnostic message, shortened so a huge value cannot flood the message. */
export function show(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function refId(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

export interface ObjectInfo {
  raw: unknown;
  namespace: string | undefined;
  name: string | undefined;
  /** metadata.creationTimestamp in ms since the epoch; +Infinity when missing or unparsable (sorts last). */
  created: number;
  labels: Fields;
  annotations: Fields;
  /** Canonical JSON of the whole object: the last tie-break, so even duplicate names sort the same way
   * whatever the input order. */
  tiebreak: string;
}

function readInfo(raw: unknown): ObjectInfo {
  const meta = fields(fields(raw).metadata);
  const ts = text(meta.creationTimestamp);
  const ms = ts === undefined ? NaN : Date.parse(ts);
  let tiebreak = '';
  try {
    tiebreak = canonicalJson(raw);
  } catch {
    // A value canonicalJson cannot print (cycles, BigInt) cannot come from the API; order is still total
    // up to such objects.
  }
  return {
    raw,
    namespace: name(meta.namespace),
    name: name(meta.name),
    created: Number.isNaN(ms) ? Infinity : ms,
    labels: fields(meta.labels),
    annotations: fields(meta.annotations),
    tiebreak,
  };
}

/** Reads the metadata once. Never throws: an object whose fields cannot even be read has no metadata. */
export function objectInfo(raw: unknown): ObjectInfo {
  try {
    return readInfo(raw);
  } catch {
    return { raw, namespace: undefined, name: undefined, created: Infinity, labels: {}, annotations: {}, tiebreak: '' };
  }
}

export function refOf(info: ObjectInfo): ObjectRef {
  return { namespace: info.namespace ?? '', name: info.name ?? '' };
}

/** By namespace, then name, then content. */
export function compareByName(a: ObjectInfo, b: ObjectInfo): number {
  return (
    compareStrings(a.namespace ?? '', b.namespace ?? '') ||
    compareStrings(a.name ?? '', b.name ?? '') ||
    compareStrings(a.tiebreak, b.tiebreak)
  );
}

/** Precedence between Ingresses (README, "Ingress semantics"): oldest first, missing timestamps last, then by
 * namespace/name. */
export function compareByAge(a: ObjectInfo, b: ObjectInfo): number {
  return (a.created < b.created ? -1 : a.created > b.created ? 1 : 0) || compareByName(a, b);
}

/** Why `winner` takes precedence over `loser`, for diagnostic messages. */
export function precedenceReason(winner: ObjectInfo, loser: ObjectInfo): string {
  if (winner.created < loser.created) {
    return loser.created === Infinity ? 'it has a creation timestamp and this one has none' : 'it was created earlier';
  }
  return winner.created === Infinity
    ? 'neither has a creation timestamp and it sorts first by namespace/name'
    : 'both were created at the same time and it sorts first by namespace/name';
}

/** Objects with their metadata read once, sorted by namespace/name (input order never matters). */
export function sortedByName(objects: readonly unknown[]): ObjectInfo[] {
  return objects.map(objectInfo).sort(compareByName);
}

/** Objects by `namespace/name`, the first by name order where two share one (a snapshot can hold duplicates). */
export function indexByName(list: readonly unknown[]): Map<string, ObjectInfo> {
  const out = new Map<string, ObjectInfo>();
  for (const o of sortedByName(list)) {
    if (o.namespace === undefined || o.name === undefined) continue;
    const id = `${o.namespace}/${o.name}`;
    if (!out.has(id)) out.set(id, o);
  }
  return out;
}
