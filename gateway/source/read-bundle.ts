// Reading one version out of Redis for the follower: the pointer, the signed manifest and the parts (by name from
// the version's hash in manifest format 1, by digest from their own keys in format 2, only those not held), each
// size checked against its limit (or its signed size) before its bytes are read, so a huge value planted
// in Redis cannot exhaust a worker's memory. Verification is bundle.ts's; this file only reads.
import { BundleError, MAX_MANIFEST_BYTES, MAX_PART_BYTES, type Manifest } from '../table/bundle.ts';
import type { CurrentPointer } from '../table/redis-layout.ts';
import { RefusedError } from './refusals.ts';
import type { RedisCommands } from './transport.ts';

/** The `current` pointer, or PORTICO_TABLE_POINTER: a pointer that names no version is refused, never ignored. */
export function parsePointer(raw: string): CurrentPointer {
  let ptr: unknown;
  try {
    ptr = JSON.parse(raw);
  } catch {
    throw new RefusedError('PORTICO_TABLE_POINTER', 'the current pointer in Redis is not valid JSON with a version');
  }
  if (typeof ptr !== 'object' || ptr === null || typeof (ptr as CurrentPointer).version !== 'string') {
    throw new RefusedError('PORTICO_TABLE_POINTER', 'the current pointer in Redis is not valid JSON with a version');
  }
  return ptr as CurrentPointer;
}

/** The manifest JWS stored under `key`; not yet verified. */
export async function readManifest(c: RedisCommands, key: string, version: string): Promise<string> {
  const [size] = await c.fieldSizes(key, ['manifest']);
  if ((size ?? 0) > MAX_MANIFEST_BYTES)
    throw new BundleError('PORTICO_BUNDLE_TOO_LARGE', `the manifest of ${version} is over ${MAX_MANIFEST_BYTES} bytes`);
  const jws = await c.fieldText(key, 'manifest');
  if (jws === null) throw new BundleError('PORTICO_BUNDLE_PART_MISSING', `version ${version} is current but its manifest is missing`);
  return jws;
}

/** Every part a verified manifest names, in two round trips: sizes, then bytes. A missing part is left
 * out (openBundle refuses it); one larger than signed is refused before it is read. */
export async function readParts(c: RedisCommands, key: string, m: Manifest): Promise<Map<string, Uint8Array>> {
  for (const ref of m.parts) {
    if (ref.bytes > MAX_PART_BYTES)
      throw new BundleError(
        'PORTICO_BUNDLE_TOO_LARGE',
        `part ${ref.name} of ${m.version} is signed as ${ref.bytes} bytes, over ${MAX_PART_BYTES}`,
      );
  }
  const fields = m.parts.map((ref) => `part:${ref.name}`);
  const sizes = await c.fieldSizes(key, fields);
  m.parts.forEach((ref, i) => {
    if ((sizes[i] ?? 0) > ref.bytes)
      throw new BundleError('PORTICO_BUNDLE_DIGEST', `part ${ref.name} of ${m.version} is larger than its signed size`);
  });
  const values = await c.fieldBytes(key, fields);
  const parts = new Map<string, Uint8Array>();
  m.parts.forEach((ref, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) parts.set(ref.name, v);
  });
  return parts;
}

/** Manifest format 2: the parts a verified manifest names that `have` lacks, each read once by its digest
 * (`part:<sha256>`, redis-layout.ts) in two round trips: sizes, then bytes (MGET). A missing part is left out
 * (openBundle refuses it); one larger than signed is refused before it is read. */
export async function readMissingParts(
  c: RedisCommands,
  partKey: (sha256: string) => string,
  m: Manifest,
  have: (sha256: string) => boolean,
): Promise<Map<string, Uint8Array>> {
  const wanted = new Map<string, number>();
  for (const ref of m.parts) {
    if (ref.bytes > MAX_PART_BYTES)
      throw new BundleError(
        'PORTICO_BUNDLE_TOO_LARGE',
        `part ${ref.name} of ${m.version} is signed as ${ref.bytes} bytes, over ${MAX_PART_BYTES}`,
      );
    if (!have(ref.sha256)) wanted.set(ref.sha256, ref.bytes);
  }
  const digests = [...wanted.keys()];
  const keys = digests.map(partKey);
  const sizes = await c.sizes(keys);
  digests.forEach((d, i) => {
    if ((sizes[i] ?? 0) > wanted.get(d)!)
      throw new BundleError('PORTICO_BUNDLE_DIGEST', `part ${d.slice(0, 12)} of ${m.version} is larger than its signed size`);
  });
  const values = await c.values(keys);
  const parts = new Map<string, Uint8Array>();
  digests.forEach((d, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) parts.set(d, v);
  });
  return parts;
}
