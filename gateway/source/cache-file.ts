// The worker's local copy of the last good bundle, so a worker that starts while Redis is down can serve.
// Stored exactly as received (the signed manifest and the raw parts) and verified again when read: the
// file is no more trusted than Redis. Format: one JSON line {manifest, parts:[{name, bytes}]}, then the
// parts' bytes back to back. Written to a temporary file and renamed, so a crash never leaves half a file.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import type { BundleCache } from './follower.ts';
import { PorticoError } from '../table/portico-error.ts';

export interface CachedBundle {
  manifest: string;
  parts: Map<string, Uint8Array>;
}

async function writeCacheFile(path: string, b: CachedBundle): Promise<void> {
  const index = { manifest: b.manifest, parts: [...b.parts].map(([name, bytes]) => ({ name, bytes: bytes.length })) };
  // A fresh, unpredictable name opened exclusively ('wx'): never follows a planted file or link.
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(
      Buffer.concat([
        Buffer.from(`${JSON.stringify(index)}\n`),
        ...[...b.parts.values()].map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)),
      ]),
    );
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** The follower's view of a cache file. */
export function fileCache(path: string): BundleCache {
  return { name: path, read: () => readCacheFile(path), write: (b) => writeCacheFile(path, b) };
}

export class CacheFileError extends PorticoError {
  readonly code = 'PORTICO_CACHE_FILE';
}

/** null when there is no cache file; CacheFileError when it is unreadable or truncated. */
async function readCacheFile(path: string): Promise<CachedBundle | null> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CacheFileError(`cannot read cache file ${path}: ${(err as Error).message}`);
  }
  const nl = buf.indexOf(10);
  if (nl === -1) throw new CacheFileError(`cache file ${path} has no index line`);
  let index: { manifest: string; parts: { name: string; bytes: number }[] };
  try {
    index = JSON.parse(buf.subarray(0, nl).toString()) as typeof index;
  } catch {
    throw new CacheFileError(`cache file ${path} has a broken index line`);
  }
  const parts = new Map<string, Uint8Array>();
  let at = nl + 1;
  for (const p of index.parts) {
    if (at + p.bytes > buf.length) throw new CacheFileError(`cache file ${path} is truncated`);
    parts.set(p.name, buf.subarray(at, at + p.bytes));
    at += p.bytes;
  }
  return { manifest: index.manifest, parts };
}

/** Whether a cache file can be written next to `path` (checked at start, so a bad path fails loudly, once). */
export async function checkWritable(path: string): Promise<void> {
  const probe = `${path}.${randomBytes(6).toString('hex')}.probe`;
  const fh = await open(probe, 'wx', 0o600);
  await fh.close();
  await unlink(probe);
}
