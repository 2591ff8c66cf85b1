// The signed, chunked form in which a table travels from the agent to the workers.
//
// A bundle is a manifest (a compact JWS, EdDSA/Ed25519, signed by the agent) plus named parts. The
// manifest names the cluster, the table version, a publish sequence number and the SHA-256 of every part;
// the parts are canonical JSON slices of the table (so no single JSON.parse or check of a 10,000-Ingress
// table blocks a worker's event loop for long) and the certificates, whose private keys are each a compact
// JWE (dir + A256GCM) under a key the agent and the workers share: no plaintext private key leaves the agent.
// Basic-auth material (user names and password hashes, gateway/table/basic-auth.ts) travels the same way: each
// Secret's entries one JWE, named only by the revision the routes reference.
import { base64url, CompactEncrypt, CompactSign, compactDecrypt, compactVerify, type CryptoKey, type KeyObject } from 'jose';
import { type BasicAuthMaterial, basicAuthMaterialProblem, basicAuthRevision } from './basic-auth.ts';
import { canonicalJson } from './canonical.ts';
import type { Backend, CertificateMaterial, HostRoutes, RoutingTable } from './schema.ts';
import { PorticoError } from './portico-error.ts';
import { SUPPORTED_SCHEMAS, type SchemaVersion } from './schema.ts';
import { nextTurn, validateAsync } from './validate.ts';

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

export interface OpenedBundle {
  manifest: Manifest;
  table: RoutingTable;
  certificates: CertificateMaterial[];
  /** Basic-auth material, decrypted; with `keys` null (inspection) it is left out. */
  basicAuth: BasicAuthMaterial[];
}

export type BundleErrorCode =
  | 'PORTICO_BUNDLE_SIGNATURE'
  | 'PORTICO_BUNDLE_MANIFEST'
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

/** Entries per part: a part of 500 hosts parses in a few milliseconds. */
const HOSTS_PER_PART = 500;
const BACKENDS_PER_PART = 1000;
const CERTS_PER_PART = 100;
/** A Secret holds at most 1 MiB, about 1.4 MiB as a JWE: ten stay under MAX_PART_BYTES. */
const AUTH_PER_PART = 10;
export const MAX_PART_BYTES = 16 * 1024 * 1024;
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const TYP = 'portico.table';

const enc = new TextEncoder();
const dec = new TextDecoder();

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => nextTurn(resolve));

function chunks<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
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

/** Builds and signs the bundle of a (valid, sealed) table, its certificate material and its basic-auth material. */
export async function sealBundle(
  table: RoutingTable,
  certificates: readonly CertificateMaterial[],
  meta: PublishMeta,
  keys: SigningKeys,
  basicAuth: readonly BasicAuthMaterial[] = [],
): Promise<Bundle> {
  const parts = new Map<string, Uint8Array>();
  const { hosts: _hosts, backends: _backends, ...rest } = table;
  const head: Head = rest;
  parts.set('head', enc.encode(canonicalJson(head)));
  for (const [i, c] of chunks(table.hosts, HOSTS_PER_PART).entries()) parts.set(`hosts/${i}`, enc.encode(canonicalJson(c)));
  for (const [i, c] of chunks(table.backends, BACKENDS_PER_PART).entries()) parts.set(`backends/${i}`, enc.encode(canonicalJson(c)));
  const sealed: SealedKey[] = [];
  for (const c of [...certificates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const keyJwe = await new CompactEncrypt(enc.encode(c.keyPem))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'application/x-pem-file' })
      .encrypt(keys.encrypt);
    sealed.push({ id: c.id, certPem: c.certPem, keyJwe });
  }
  for (const [i, c] of chunks(sealed, CERTS_PER_PART).entries()) parts.set(`keys/${i}`, enc.encode(JSON.stringify(c)));
  const auth: SealedAuth[] = [];
  for (const m of basicAuth) {
    const jwe = await new CompactEncrypt(enc.encode(canonicalJson(m)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'application/json' })
      .encrypt(keys.encrypt);
    auth.push({ revision: basicAuthRevision(m), jwe });
  }
  auth.sort((a, b) => (a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0));
  for (const [i, c] of chunks(auth, AUTH_PER_PART).entries()) parts.set(`auth/${i}`, enc.encode(JSON.stringify(c)));
  const refs: PartRef[] = [];
  for (const [name, bytes] of parts) refs.push({ name, sha256: await sha256Hex(bytes), bytes: bytes.length });
  const manifest: Manifest = {
    typ: TYP,
    schema: table.schema,
    version: table.version,
    ...meta,
    hosts: table.hosts.length,
    routes: table.hosts.reduce((n, h) => n + h.routes.length, 0),
    parts: refs,
  };
  const jws = await new CompactSign(enc.encode(JSON.stringify(manifest))).setProtectedHeader({ alg: 'EdDSA', typ: TYP }).sign(keys.sign);
  return { manifest: jws, parts };
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

/** Fetches every part, checks its digest against the signed manifest, parses it (yielding between
 * parts), validates the table in slices, and decrypts the private keys. */
/** Reads one part; a reader that can tell the stored size first should refuse anything over `ref.bytes`
 * before fetching it (a huge value planted in Redis must not exhaust a worker's memory). */
export type PartReader = (ref: PartRef) => Promise<Uint8Array | null>;

/** `keys` null (inspection without keys): private keys are left encrypted and `keyPem` is "". */
export async function openBundle(m: Manifest, readPart: PartReader, keys: VerifyingKeys | null): Promise<OpenedBundle> {
  checkPartNames(m);
  const parsed = new Map<string, unknown>();
  for (const ref of m.parts) {
    if (ref.bytes > MAX_PART_BYTES)
      throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `part ${ref.name} is ${ref.bytes} bytes, over ${MAX_PART_BYTES}`);
    const bytes = await readPart(ref);
    if (bytes === null) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', `part ${ref.name} of version ${m.version} is missing`);
    if (bytes.length !== ref.bytes || (await sha256Hex(bytes)) !== ref.sha256) {
      throw new BundleError(
        'PORTICO_BUNDLE_DIGEST',
        `part ${ref.name} of version ${m.version} does not match its signed digest (edited or corrupted)`,
      );
    }
    try {
      parsed.set(ref.name, JSON.parse(dec.decode(bytes)));
    } catch {
      throw new BundleError('PORTICO_BUNDLE_INVALID', `part ${ref.name} is not JSON`);
    }
    await yieldToLoop();
  }
  const head = parsed.get('head') as Head | undefined;
  if (head === undefined) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', 'the manifest names no head part');
  const partsOf = <T>(prefix: string): T[] => {
    const out: T[] = [];
    for (let i = 0; parsed.has(`${prefix}/${i}`); i++) out.push(...(parsed.get(`${prefix}/${i}`) as T[]));
    return out;
  };
  const table: RoutingTable = { ...head, hosts: partsOf<HostRoutes>('hosts'), backends: partsOf<Backend>('backends') };
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
  const problems = await validateAsync(table, { checkHash: false });
  if (problems.length > 0) {
    throw new BundleError(
      'PORTICO_BUNDLE_INVALID',
      `table ${m.version} is invalid: ${problems
        .slice(0, 3)
        .map((p) => `${p.at}: ${p.message}`)
        .join('; ')}`,
    );
  }
  const certificates: CertificateMaterial[] = [];
  for (const k of partsOf<SealedKey>('keys')) {
    if (keys === null) {
      certificates.push({ id: k.id, certPem: k.certPem, keyPem: '' });
      continue;
    }
    try {
      const { plaintext } = await compactDecrypt(k.keyJwe, keys.decrypt, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      certificates.push({ id: k.id, certPem: k.certPem, keyPem: dec.decode(plaintext) });
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
      const { plaintext } = await compactDecrypt(a.jwe, keys.decrypt, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
      material = JSON.parse(dec.decode(plaintext));
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
  return { manifest: m, table, certificates, basicAuth };
}
