// The signed, chunked form in which a table travels from the agent to the workers.
//
// A bundle is a manifest (a compact JWS, EdDSA/Ed25519, signed by the agent) plus named parts. The
// manifest names the cluster, the table version, a publish sequence number and the SHA-256 of every part;
// the parts are canonical JSON slices of the table (so no single JSON.parse or check of a 10,000-Ingress
// table blocks a worker's event loop for long) and the certificates, whose private keys are each a compact
// JWE (dir + A256GCM) under a key the agent and the workers share: no plaintext private key leaves the agent.
// Basic-auth material (user names and password hashes, gateway/table/basic-auth.ts) travels the same way: each
// Secret's entries one JWE, named only by the revision the routes reference.
import { createHash } from 'node:crypto';
import { base64url, CompactEncrypt, CompactSign, compactDecrypt, compactVerify, type CryptoKey, type KeyObject } from 'jose';
import { type BasicAuthMaterial, basicAuthMaterialProblem, basicAuthRevision } from './basic-auth.ts';
import { canonicalBytes, canonicalJson, isSealedEntry } from './canonical.ts';
import type { Backend, CertificateMaterial, HostRoutes, RoutingTable } from './schema.ts';
import { PorticoError } from './portico-error.ts';
import { SUPPORTED_SCHEMAS, type SchemaVersion } from './schema.ts';
import { nextTurn, validateAsync } from './validate.ts';
import { arrayElements } from './json-elements.ts';
import { deepFreeze, ValidationMemo } from './validation-memo.ts';

export type Key = CryptoKey | KeyObject | Uint8Array;

export interface SigningKeys {
  sign: Key;
  encrypt: Key;
}
export interface VerifyingKeys {
  verify: Key;
  decrypt: Key;
}

export interface PublishMeta {
  cluster: string;
  /** Strictly increasing per cluster: a worker refuses a lower one unless the pointer says rollback. */
  seq: number;
  publishedAt: string;
  /** Who published (agent identity: host/pid or pod name). */
  publisher: string;
}

export interface PartRef {
  name: string;
  sha256: string;
  bytes: number;
}

export interface Manifest extends PublishMeta {
  typ: 'portico.table';
  /** Storage layout of the parts (redis-layout.ts): absent = 1, each version's parts as fields of its own hash;
   * 2 = each part once under a key named by its SHA-256, shared by every version that holds it. A worker refuses a
   * format it does not know (PORTICO_BUNDLE_FORMAT) and keeps serving its last good table. */
  format?: BundleFormat;
  schema: SchemaVersion;
  version: string;
  hosts: number;
  routes: number;
  parts: PartRef[];
}

export interface Bundle {
  manifest: string;
  parts: Map<string, Uint8Array>;
}

/** The part formats this code reads; it writes the newest. */
export type BundleFormat = 1 | 2;
export const BUNDLE_FORMAT: BundleFormat = 2;

/** A part already verified against a signed digest and parsed: reused by the next table that lists the same digest
 * (a worker keeps the parts of the table it serves, so a change costs the parts that changed). Parsed values are
 * shared between tables and frozen (a table is signed content; the validation memo relies on it). */
export interface OpenedPart {
  bytes: Uint8Array;
  value: unknown;
  /** A hosts or backends part: each entry's text → its parsed value (arrayElements), for the part of the same name in
   * the next table to reuse the entries whose text it shares. */
  entries?: ReadonlyMap<string, unknown>;
}

/** What a worker carries from one table to the next: parts by SHA-256, private keys decrypted by their JWE. */
export interface OpenMemory {
  parts: ReadonlyMap<string, OpenedPart>;
  /** JWE (compact) → plaintext; the agent reuses the JWE of unchanged material, so the same JWE decrypts the same. */
  decrypted: ReadonlyMap<string, string>;
  /** The hosts and backends found clean so far: a reused part's entries are not checked again (validation-memo.ts). */
  validation: ValidationMemo;
  /** This table's parts by name: a changed part reuses the entries of its namesake (the same bucket). */
  byName: ReadonlyMap<string, OpenedPart>;
}

/** Agent side: JWE by a digest of (content type, plaintext), so unchanged private keys and basic-auth material are
 * not encrypted again with a fresh IV each publish (which would change their part every time). In memory only. */
export type SealMemory = ReadonlyMap<string, string>;

export interface OpenedBundle {
  manifest: Manifest;
  table: RoutingTable;
  certificates: CertificateMaterial[];
  /** Basic-auth material, decrypted; with `keys` null (inspection) it is left out. */
  basicAuth: BasicAuthMaterial[];
  /** This table's parts and decrypted JWEs, to pass as `memory` when opening the next one. */
  memory: OpenMemory;
}

export type BundleErrorCode =
  | 'PORTICO_BUNDLE_SIGNATURE'
  | 'PORTICO_BUNDLE_MANIFEST'
  | 'PORTICO_BUNDLE_FORMAT'
  | 'PORTICO_BUNDLE_CLUSTER'
  | 'PORTICO_BUNDLE_VERSION'
  | 'PORTICO_BUNDLE_PART_MISSING'
  | 'PORTICO_BUNDLE_DIGEST'
  | 'PORTICO_BUNDLE_TOO_LARGE'
  | 'PORTICO_BUNDLE_INVALID'
  | 'PORTICO_BUNDLE_DECRYPT';

/** A bundle refused: a command that loads one ends with exit status 6. */
export class BundleError extends PorticoError {
  override readonly exitCode = 6;
  constructor(
    readonly code: BundleErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The kinds of numbered parts (the part list is `head` plus contiguous parts of each). */
export type PartKind = 'hosts' | 'backends' | 'keys' | 'auth';

/** The agent refuses to seal a table with an entry (the head, one host with its routes, one backend, one certificate,
 * one basic-auth Secret) larger than a part may be: every worker would refuse the bundle (PORTICO_BUNDLE_TOO_LARGE)
 * and keep its last table, so it is stopped where it can be named. */
export class BundleEntryTooLargeError extends PorticoError {
  readonly code = 'PORTICO_BUNDLE_ENTRY_TOO_LARGE';
  constructor(
    readonly kind: PartKind | 'head',
    /** What is too large, for people: e.g. `host "shop.example.com" (12000 routes)`, `basic-auth Secret default/users`. */
    readonly entry: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `${entry} is ${bytes} bytes in the table bundle, over the ${limit}-byte limit of one part: no worker could load the table, so it is not published (make it smaller)`,
    );
  }
}

/** Average entries per part. Parts are buckets by a hash of each entry's name (host, backend id, certificate id,
 * basic-auth revision), not slices by position: adding or changing one host changes exactly one hosts part, so a
 * publish writes and a worker reads that part alone. The bucket count is the next power of two of n / average, so
 * it changes only when the table doubles or halves (then every part of that kind changes once). 128 hosts parse in
 * well under a millisecond; a smaller average would grow the manifest (a digest per part) that every change writes. */
const HOSTS_PER_PART = 128;
const BACKENDS_PER_PART = 128;
const CERTS_PER_PART = 16;
/** A Secret holds at most 1 MiB, about 1.4 MiB as a JWE: four on average stay well under MAX_PART_BYTES. */
const AUTH_PER_PART = 4;
export const MAX_PART_BYTES = 16 * 1024 * 1024;
/** The average is no bound: a bucket holds whatever hashes into it, and FNV-1a is easy to steer. A kind with a part
 * over MAX_PART_BYTES is spread again over twice as many buckets, at most MAX_DOUBLINGS times and never over
 * MAX_BUCKETS parts (the manifest lists a digest per part and is itself limited); past that its entries are packed
 * in their canonical order instead (every part under the limit, but an edit may shift the parts after it). */
const MAX_DOUBLINGS = 8;
const MAX_BUCKETS = 4096;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TYP = 'portico.table';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** node:crypto's hash, on every runtime (Deno and workerd's nodejs_compat have it too, canonical.ts hashes with it):
 * synchronous, where a Web Crypto digest is a job on another thread costing about 0.1 ms of hand-off per part. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => nextTurn(resolve));

/** FNV-1a, 32 bits: a stable spread of names over buckets (not a security boundary: the digests are SHA-256). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `xs` spread over a power-of-two number of buckets by the hash of each name, each bucket keeping the input order.
 * Empty buckets are kept (their part is `[]`, stored once for all): part names stay contiguous. */
export function buckets<T>(
  xs: readonly T[],
  nameOf: (x: T) => string,
  perBucket: number,
  count = bucketCount(xs.length, perBucket),
  hashOf: (x: T) => number = (x) => fnv1a(nameOf(x)),
): T[][] {
  const out: T[][] = Array.from({ length: count }, () => []);
  for (const x of xs) out[hashOf(x) & (count - 1)]!.push(x);
  return out;
}

/** The default number of buckets of `n` entries: the next power of two of n / perBucket. */
function bucketCount(n: number, perBucket: number): number {
  let count = 1;
  while (count * perBucket < n) count *= 2;
  return count;
}

/** One entry of a numbered part: its bucketing name, its JSON bytes, and what it is the bytes of: a host entry or
 * backend (`sealed` when of a sealed table, see joinedParts), else the entry's description for an error. */
interface PartEntry {
  name: string;
  bytes: Uint8Array;
  of: unknown;
  sealed: boolean;
}

/** An entry too large for a part, described for people (made only for that error). */
function describeEntry(kind: PartKind, e: PartEntry): string {
  if (kind === 'hosts') {
    const h = e.of as HostRoutes;
    return `host ${JSON.stringify(h.host)} (${h.routes.length} routes)`;
  }
  return kind === 'backends' ? `backend ${(e.of as Backend).id}` : String(e.of);
}

/** FNV-1a of a sealed entry's name, by the entry: its bucket, asked again on every publish the entry is carried to. */
const nameHashes = new WeakMap<object, number>();
function nameHash(e: PartEntry): number {
  if (!e.sealed) return fnv1a(e.name);
  const of = e.of as object;
  const memo = nameHashes.get(of);
  if (memo !== undefined) return memo;
  const h = fnv1a(e.name);
  nameHashes.set(of, h);
  return h;
}

/** The bytes of the last part joined from a list of sealed host entries or backends, by its first entry, with the
 * whole list to check it against (identity, entry by entry: sealed entries are never edited, canonical.ts): a
 * change leaves all but a part or two of a table as they were, and those are not joined and hashed again per publish.
 * Weak, so a part is forgotten with its entries. */
const joinedParts = new WeakMap<object, { sources: readonly object[]; bytes: Uint8Array }>();
/** The SHA-256 of part bytes that joinedParts handed out again. */
const partDigests = new WeakMap<Uint8Array, string>();

function joinSealed(entries: readonly PartEntry[]): Uint8Array {
  if (entries.length === 0 || entries.some((e) => !e.sealed)) return joinEntries(entries);
  const first = entries[0]!.of as object;
  const memo = joinedParts.get(first);
  if (memo !== undefined && memo.sources.length === entries.length && entries.every((e, i) => e.of === memo.sources[i])) return memo.bytes;
  const bytes = joinEntries(entries);
  joinedParts.set(first, { sources: entries.map((e) => e.of as object), bytes });
  return bytes;
}

function partDigest(bytes: Uint8Array): string {
  const memo = partDigests.get(bytes);
  if (memo !== undefined) return memo;
  const digest = sha256Hex(bytes);
  partDigests.set(bytes, digest);
  return digest;
}

/** The bytes of a JSON list of entries: `[a,b,c]`, exactly what canonicalJson / JSON.stringify write for the list. */
function joinEntries(entries: readonly PartEntry[]): Uint8Array {
  const out = new Uint8Array(listBytes(entries));
  out[0] = 0x5b; // [
  let at = 1;
  for (const [i, e] of entries.entries()) {
    if (i > 0) out[at++] = 0x2c; // ,
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  out[at] = 0x5d; // ]
  return out;
}

const listBytes = (entries: readonly PartEntry[]): number =>
  entries.reduce((n, e) => n + e.bytes.length, 2) + Math.max(0, entries.length - 1);

/** The parts of one kind, none over `limit` bytes: buckets by name hash (the default count, doubled while a bucket
 * is over the limit, within MAX_DOUBLINGS and MAX_BUCKETS), else packed in input order. An entry over the limit on
 * its own is refused (BundleEntryTooLargeError): no spreading helps it. */
function partsOfKind(kind: PartKind, entries: readonly PartEntry[], perPart: number, limit: number): Uint8Array[] {
  let count = bucketCount(entries.length, perPart);
  for (let doublings = 0; ; doublings++) {
    const groups = buckets(entries, (e) => e.name, perPart, count, nameHash);
    if (groups.every((g) => listBytes(g) <= limit)) return groups.map(joinSealed);
    if (doublings === 0) {
      for (const e of entries)
        if (listBytes([e]) > limit) throw new BundleEntryTooLargeError(kind, describeEntry(kind, e), listBytes([e]), limit);
    }
    if (doublings === MAX_DOUBLINGS || count * 2 > MAX_BUCKETS) break;
    count *= 2;
  }
  const packed: PartEntry[][] = [[]];
  for (const e of entries) {
    const last = packed[packed.length - 1]!;
    if (last.length > 0 && listBytes(last) + 1 + e.bytes.length > limit) packed.push([e]);
    else last.push(e);
  }
  return packed.map(joinEntries);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function encryptReusing(
  plaintext: string,
  cty: string,
  key: Key,
  previous: SealMemory | undefined,
  next: Map<string, string>,
): Promise<string> {
  const digest = sha256Hex(enc.encode(`${cty}\n${plaintext}`));
  const jwe =
    previous?.get(digest) ??
    next.get(digest) ??
    (await new CompactEncrypt(enc.encode(plaintext)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty }).encrypt(key));
  next.set(digest, jwe);
  return jwe;
}

/** Every field of the table but its hosts and backends (which go in parts of their own): a table-level field added
 * later travels without a change here, so no setting is ever lost between the agent and the workers. Public
 * certificates (client-certificate authorities) travel here too: signed with the rest, not encrypted. */
type Head = Omit<RoutingTable, 'hosts' | 'backends'>;
interface SealedKey {
  id: string;
  certPem: string;
  keyJwe: string;
}
interface SealedAuth {
  revision: string;
  jwe: string;
}

export interface SealOptions {
  /** The largest part sealed (default and at most MAX_PART_BYTES, what a worker accepts): lower in tests only. */
  maxPartBytes?: number;
}

/** Builds and signs the bundle of a (valid, sealed) table, its certificate material and its basic-auth material.
 * `sealed`: the JWEs of the previous publish (SealedBundle.sealed), reused for unchanged material. No part is over
 * MAX_PART_BYTES (a worker refuses one as final); an entry that cannot fit one part is BundleEntryTooLargeError. */
export async function sealBundle(
  table: RoutingTable,
  certificates: readonly CertificateMaterial[],
  meta: PublishMeta,
  keys: SigningKeys,
  basicAuth: readonly BasicAuthMaterial[] = [],
  sealed?: SealMemory,
  o: SealOptions = {},
): Promise<SealedBundle> {
  const limit = Math.min(o.maxPartBytes ?? MAX_PART_BYTES, MAX_PART_BYTES);
  const parts = new Map<string, Uint8Array>();
  const nextSealed = new Map<string, string>();
  const { hosts: _hosts, backends: _backends, ...rest } = table;
  const head: Head = rest;
  const headBytes = enc.encode(canonicalJson(head));
  if (headBytes.length > limit)
    throw new BundleEntryTooLargeError(
      'head',
      'the table head (certificate infos, client-certificate authorities, upstream TLS authorities, settings)',
      headBytes.length,
      limit,
    );
  parts.set('head', headBytes);
  const add = (kind: PartKind, entries: PartEntry[], perPart: number): void => {
    for (const [i, bytes] of partsOfKind(kind, entries, perPart, limit).entries()) parts.set(`${kind}/${i}`, bytes);
  };
  add(
    'hosts',
    table.hosts.map((h) => {
      const bytes = canonicalBytes(h);
      return { name: h.host, bytes, of: h, sealed: isSealedEntry(h) };
    }),
    HOSTS_PER_PART,
  );
  add(
    'backends',
    table.backends.map((b) => {
      const bytes = canonicalBytes(b);
      return { name: b.id, bytes, of: b, sealed: isSealedEntry(b) };
    }),
    BACKENDS_PER_PART,
  );
  const sealedKeys: PartEntry[] = [];
  for (const c of [...certificates].sort((a, b) => byString(a.id, b.id))) {
    const keyJwe = await encryptReusing(c.keyPem, 'application/x-pem-file', keys.encrypt, sealed, nextSealed);
    const k: SealedKey = { id: c.id, certPem: c.certPem, keyJwe };
    sealedKeys.push({ name: c.id, bytes: enc.encode(JSON.stringify(k)), of: `certificate ${c.id}`, sealed: false });
  }
  add('keys', sealedKeys, CERTS_PER_PART);
  const auth: PartEntry[] = [];
  for (const m of basicAuth) {
    const jwe = await encryptReusing(canonicalJson(m), 'application/json', keys.encrypt, sealed, nextSealed);
    const a: SealedAuth = { revision: basicAuthRevision(m), jwe };
    const label = `${m.scheme === 'digest' ? 'digest' : 'basic'}-auth Secret ${m.secret} (${m.users.length} users)`;
    auth.push({ name: a.revision, bytes: enc.encode(JSON.stringify(a)), of: label, sealed: false });
  }
  auth.sort((a, b) => byString(a.name, b.name));
  add('auth', auth, AUTH_PER_PART);
  const refs: PartRef[] = [];
  for (const [name, bytes] of parts) refs.push({ name, sha256: partDigest(bytes), bytes: bytes.length });
  const manifest: Manifest = {
    typ: TYP,
    format: BUNDLE_FORMAT,
    schema: table.schema,
    version: table.version,
    ...meta,
    hosts: table.hosts.length,
    routes: table.hosts.reduce((n, h) => n + h.routes.length, 0),
    parts: refs,
  };
  const jws = await new CompactSign(enc.encode(JSON.stringify(manifest))).setProtectedHeader({ alg: 'EdDSA', typ: TYP }).sign(keys.sign);
  return { manifest: jws, parts, refs, sealed: nextSealed };
}

export interface SealedBundle extends Bundle {
  /** The manifest's part list (name, SHA-256, size), as signed. */
  refs: PartRef[];
  /** The JWEs used, by digest of their plaintext: pass to the next sealBundle. */
  sealed: SealMemory;
}

export interface OpenOptions {
  cluster: string;
  /** The version the `current` pointer named: a manifest for any other version is refused (replay). */
  version?: string;
}

/** Verifies the manifest's signature and claims; cheap, and done before any part is fetched. */
export async function verifyManifest(jws: string, keys: VerifyingKeys, o: OpenOptions): Promise<Manifest> {
  if (jws.length > MAX_MANIFEST_BYTES)
    throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `manifest is ${jws.length} bytes, over ${MAX_MANIFEST_BYTES}`);
  let payload: Uint8Array;
  try {
    const r = await compactVerify(jws, keys.verify, { algorithms: ['EdDSA'] });
    if (r.protectedHeader.typ !== TYP) throw new Error(`typ ${JSON.stringify(r.protectedHeader.typ)}`);
    payload = r.payload;
  } catch (err) {
    throw new BundleError(
      'PORTICO_BUNDLE_SIGNATURE',
      `manifest signature does not verify with the agent's public key (${(err as Error).message})`,
    );
  }
  return checkClaims(JSON.parse(dec.decode(payload)) as Manifest, o);
}

/** For inspection tools run without the public key: the manifest's claims, NOT verified. Never serve from it. */
export function readManifestUnverified(jws: string, o: OpenOptions): Manifest {
  const payload = jws.split('.')[1];
  if (payload === undefined) throw new BundleError('PORTICO_BUNDLE_MANIFEST', 'manifest is not a compact JWS');
  return checkClaims(JSON.parse(dec.decode(base64url.decode(payload))) as Manifest, o);
}

function checkClaims(m: Manifest, o: OpenOptions): Manifest {
  if (m.typ === TYP && m.format !== undefined && m.format !== 1 && m.format !== 2) {
    throw new BundleError(
      'PORTICO_BUNDLE_FORMAT',
      `manifest format ${JSON.stringify(m.format)} is newer than this worker reads (1 or 2): upgrade the workers before the agent`,
    );
  }
  if (
    m.typ !== TYP ||
    !SUPPORTED_SCHEMAS.includes(m.schema) ||
    !Array.isArray(m.parts) ||
    typeof m.version !== 'string' ||
    !Number.isSafeInteger(m.seq)
  ) {
    throw new BundleError('PORTICO_BUNDLE_MANIFEST', `manifest is not a table manifest of schema ${SUPPORTED_SCHEMAS.join(' or ')}`);
  }
  if (m.cluster !== o.cluster)
    throw new BundleError(
      'PORTICO_BUNDLE_CLUSTER',
      `manifest is for cluster ${JSON.stringify(m.cluster)}, not ${JSON.stringify(o.cluster)}`,
    );
  if (o.version !== undefined && m.version !== o.version) {
    throw new BundleError(
      'PORTICO_BUNDLE_VERSION',
      `manifest is for version ${m.version} but is stored as ${o.version} (a replayed or misplaced manifest)`,
    );
  }
  return m;
}

const PART_NAME = /^(head|(hosts|backends|keys|auth)\/(0|[1-9][0-9]{0,5}))$/;

/** Exactly `head` plus contiguous numbered parts of each kind, nothing else: a manifest that lists only
 * some parts (or unknown ones) must not yield a silently truncated table. */
function checkPartNames(m: Manifest): void {
  const counts = new Map<string, number[]>();
  let head = 0;
  for (const ref of m.parts) {
    const match = typeof ref?.name === 'string' ? PART_NAME.exec(ref.name) : null;
    if (match === null || typeof ref.sha256 !== 'string' || !Number.isSafeInteger(ref.bytes))
      throw new BundleError('PORTICO_BUNDLE_MANIFEST', `manifest lists an unknown part ${JSON.stringify(ref?.name)}`);
    if (match[1] === 'head') head++;
    else (counts.get(match[2]!) ?? counts.set(match[2]!, []).get(match[2]!)!).push(Number(match[3]));
  }
  if (head !== 1) throw new BundleError('PORTICO_BUNDLE_MANIFEST', `manifest lists ${head} head parts, expected 1`);
  for (const [kind, idx] of counts) {
    idx.sort((a, b) => a - b);
    if (idx.some((v, i) => v !== i))
      throw new BundleError('PORTICO_BUNDLE_MANIFEST', `manifest's ${kind} parts are not numbered 0..${idx.length - 1}`);
  }
}

/** A part's parsed value, frozen (the validation memo relies on it). A hosts or backends part is parsed entry by entry,
 * reusing the parsed entries of `previous` (its namesake in the table served now) whose text is the same: the same
 * text parses to the same value, so a changed bucket costs its changed entries. */
function parsePart(name: string, text: string, previous: ReadonlyMap<string, unknown> | undefined): Omit<OpenedPart, 'bytes'> {
  const elements = name.startsWith('hosts/') || name.startsWith('backends/') ? arrayElements(text) : null;
  if (elements !== null) {
    try {
      const value = elements.map((e) => previous?.get(e) ?? deepFreeze(JSON.parse(e)));
      const entries = new Map<string, unknown>();
      for (let i = 0; i < elements.length; i++) entries.set(elements[i]!, value[i]);
      return { value: Object.freeze(value), entries };
    } catch {
      // Not what the scan took it for: parsed whole below, which says whether it is JSON at all.
    }
  }
  try {
    return { value: deepFreeze(JSON.parse(text)) };
  } catch {
    throw new BundleError('PORTICO_BUNDLE_INVALID', `part ${name} is not JSON`);
  }
}

/** Reads one part; a reader that can tell the stored size first should refuse anything over `ref.bytes`
 * before fetching it (a huge value planted in Redis must not exhaust a worker's memory). */
export type PartReader = (ref: PartRef) => Promise<Uint8Array | null>;

/** Fetches every part not in `memory`, checks its digest against the signed manifest, parses it (yielding between
 * parts), validates the table in slices, and decrypts the private keys. A part in `memory` was verified against the
 * same signed digest when it was first read, so it is neither read nor parsed again.
 * `keys` null (inspection without keys): private keys are left encrypted and `keyPem` is "". */
export async function openBundle(
  m: Manifest,
  readPart: PartReader,
  keys: VerifyingKeys | null,
  memory?: OpenMemory,
): Promise<OpenedBundle> {
  checkPartNames(m);
  const parsed = new Map<string, unknown>();
  const opened = new Map<string, OpenedPart>();
  const byName = new Map<string, OpenedPart>();
  for (const ref of m.parts) {
    if (ref.bytes > MAX_PART_BYTES)
      throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `part ${ref.name} is ${ref.bytes} bytes, over ${MAX_PART_BYTES}`);
    const known = opened.get(ref.sha256) ?? memory?.parts.get(ref.sha256);
    if (known !== undefined && known.bytes.length === ref.bytes) {
      parsed.set(ref.name, known.value);
      opened.set(ref.sha256, known);
      byName.set(ref.name, known);
      continue;
    }
    const bytes = await readPart(ref);
    if (bytes === null) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', `part ${ref.name} of version ${m.version} is missing`);
    if (bytes.length !== ref.bytes || sha256Hex(bytes) !== ref.sha256) {
      throw new BundleError(
        'PORTICO_BUNDLE_DIGEST',
        `part ${ref.name} of version ${m.version} does not match its signed digest (edited or corrupted)`,
      );
    }
    const part = parsePart(ref.name, dec.decode(bytes), memory?.byName.get(ref.name)?.entries);
    parsed.set(ref.name, part.value);
    opened.set(ref.sha256, { bytes, ...part });
    byName.set(ref.name, { bytes, ...part });
    await yieldToLoop();
  }
  const head = parsed.get('head') as Head | undefined;
  if (head === undefined) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', 'the manifest names no head part');
  const partsOf = <T>(prefix: string): T[] => {
    const out: T[] = [];
    for (let i = 0; parsed.has(`${prefix}/${i}`); i++) {
      const v = parsed.get(`${prefix}/${i}`);
      if (!Array.isArray(v)) throw new BundleError('PORTICO_BUNDLE_INVALID', `part ${prefix}/${i} is not a list`);
      out.push(...(v as T[]));
    }
    return out;
  };
  // Parts are buckets by a hash of the name (format 2) or slices of the canonical order (format 1): sorted back
  // into the canonical order (canonical.ts: hosts by name, backends by id), the table is the one the agent sealed,
  // whatever the bucketing. Matching does not depend on the order (match.ts indexes hosts by name), inspection does.
  const hosts = partsOf<HostRoutes>('hosts');
  const backends = partsOf<Backend>('backends');
  if (m.format === 2) {
    hosts.sort((a, b) => byString(String(a?.host), String(b?.host)));
    backends.sort((a, b) => byString(String(a?.id), String(b?.id)));
  }
  const table: RoutingTable = { ...head, hosts, backends };
  if (table.version !== m.version)
    throw new BundleError('PORTICO_BUNDLE_VERSION', `head part says ${table.version}, manifest says ${m.version}`);
  const routes = table.hosts.reduce((n, h) => n + (Array.isArray(h.routes) ? h.routes.length : 0), 0);
  if (table.hosts.length !== m.hosts || routes !== m.routes) {
    throw new BundleError(
      'PORTICO_BUNDLE_MANIFEST',
      `table has ${table.hosts.length} hosts and ${routes} routes, the manifest says ${m.hosts} and ${m.routes}`,
    );
  }
  // The signature covers the digest of every byte, and the agent computed the version from the same
  // content, so the hash is not recomputed here (that alone would block the loop for large tables).
  const validation = memory?.validation ?? new ValidationMemo();
  const problems = await validateAsync(table, { checkHash: false, memo: validation });
  if (problems.length > 0) {
    throw new BundleError(
      'PORTICO_BUNDLE_INVALID',
      `table ${m.version} is invalid: ${problems
        .slice(0, 3)
        .map((p) => `${p.at}: ${p.message}`)
        .join('; ')}`,
    );
  }
  const decrypted = new Map<string, string>();
  const decrypt = async (jwe: string): Promise<string> => {
    const known = decrypted.get(jwe) ?? memory?.decrypted.get(jwe);
    if (known !== undefined) {
      decrypted.set(jwe, known);
      return known;
    }
    const { plaintext } = await compactDecrypt(jwe, keys!.decrypt, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    const text = dec.decode(plaintext);
    decrypted.set(jwe, text);
    return text;
  };
  const certificates: CertificateMaterial[] = [];
  for (const k of partsOf<SealedKey>('keys')) {
    if (keys === null) {
      certificates.push({ id: k.id, certPem: k.certPem, keyPem: '' });
      continue;
    }
    try {
      certificates.push({ id: k.id, certPem: k.certPem, keyPem: await decrypt(k.keyJwe) });
    } catch (err) {
      throw new BundleError(
        'PORTICO_BUNDLE_DECRYPT',
        `private key of certificate ${k.id} does not decrypt with the shared key (${(err as Error).message})`,
      );
    }
  }
  const basicAuth: BasicAuthMaterial[] = [];
  for (const a of partsOf<SealedAuth>('auth')) {
    if (keys === null) break;
    let material: unknown;
    try {
      material = JSON.parse(await decrypt(a.jwe));
    } catch (err) {
      throw new BundleError(
        'PORTICO_BUNDLE_DECRYPT',
        `basic-auth material ${a.revision} does not decrypt with the shared key (${(err as Error).message})`,
      );
    }
    const problem = basicAuthMaterialProblem(material);
    if (problem !== null || basicAuthRevision(material as BasicAuthMaterial) !== a.revision)
      throw new BundleError('PORTICO_BUNDLE_INVALID', `basic-auth material ${a.revision} ${problem ?? 'does not match its revision'}`);
    basicAuth.push(material as BasicAuthMaterial);
  }
  return { manifest: m, table, certificates, basicAuth, memory: { parts: opened, decrypted, validation, byName } };
}
