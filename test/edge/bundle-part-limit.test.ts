// No bundle part is over the limit a worker accepts (MAX_PART_BYTES, refused as final: PORTICO_BUNDLE_TOO_LARGE).
// Parts are buckets by an FNV-1a hash of each entry's name, which anyone who names an object can steer: entries
// forced into one bucket make the agent spread that kind over more buckets (or, past the bounded doublings, pack it),
// and an entry that cannot fit one part alone is refused on the agent, naming it. The limit is lowered through
// sealBundle's option so no test builds 16 MiB objects; the worker's own limit is the real one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { type BasicAuthMaterial, basicAuthRevision } from '../../gateway/table/basic-auth.ts';
import {
  BundleEntryTooLargeError,
  buckets,
  MAX_PART_BYTES,
  openBundle,
  type SealedBundle,
  sealBundle,
  type SigningKeys,
  type VerifyingKeys,
  verifyManifest,
} from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let dir: string;
let signing: SigningKeys;
let verifying: VerifyingKeys;
const meta = { cluster: 'prod', seq: 1, publishedAt: '2026-01-01T00:00:00.000Z', publisher: 'agent-0' };
const LIMIT = 32 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-part-limit-'));
  await generateKeySet(join(dir, 'keys'));
  signing = await loadSigningKeys(join(dir, 'keys'));
  verifying = await loadVerifyingKeys(join(dir, 'keys'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const small = compile(
  objects(
    ourClass(),
    service('web', [{ address: '10.0.0.1', port: 8080 }]),
    ingress('shop', { host: 'shop.example.com', paths: [{ path: '/', service: 'web' }] }),
  ),
).table;

const usersOf = (n: number) => Array.from({ length: n }, (_, i) => ({ user: `user-${i}`, hash: `{SHA}${'x'.repeat(500)}${i}` }));
const TEN = usersOf(10);
/** Material of Secret `default/<name>`: `users` entries of about 520 bytes each (about 7 KiB as a JWE for 10). */
const material = (name: string, users = 10): BasicAuthMaterial => ({
  secret: `default/${name}`,
  type: 'auth-file',
  users: users === 10 ? TEN : usersOf(users),
});

/** The bucket of `m` among `count` (the agent buckets auth material by its revision). */
const bucketOf = (m: BasicAuthMaterial, count: number): number =>
  buckets([basicAuthRevision(m)], (r) => r, 1, count).findIndex((b) => b.length === 1);

/** `n` Secrets whose revisions all fall in bucket 0 of `count`: names searched for, as an attacker would. */
function steered(n: number, count: number, users?: number): BasicAuthMaterial[] {
  const out: BasicAuthMaterial[] = [];
  for (let i = 0; out.length < n; i++) {
    const m = material(`steered-${i}`, users);
    if (bucketOf(m, count) === 0) out.push(m);
  }
  return out;
}

const parts = (b: SealedBundle, kind: string) => b.refs.filter((r) => r.name.startsWith(`${kind}/`));
const open = async (b: SealedBundle) =>
  openBundle(await verifyManifest(b.manifest, verifying, { cluster: 'prod' }), async (ref) => b.parts.get(ref.name) ?? null, verifying);
const byRevision = (ms: readonly BasicAuthMaterial[]) => [...ms].sort((a, b) => (basicAuthRevision(a) < basicAuthRevision(b) ? -1 : 1));

describe('sealBundle keeps every part under the limit', () => {
  it('12 large basic-auth Secrets forced into one of 4 buckets: the auth parts are spread over more buckets, each under the limit, and the worker opens them', async () => {
    const auth = steered(12, 4);
    // as the buckets were: all twelve in one part, far over the limit
    const plain = await sealBundle(small, [], meta, signing, auth);
    expect(parts(plain, 'auth')).toHaveLength(4);
    expect(Math.max(...parts(plain, 'auth').map((r) => r.bytes))).toBeGreaterThan(2 * LIMIT);
    const b = await sealBundle(small, [], meta, signing, auth, undefined, { maxPartBytes: LIMIT });
    const refs = parts(b, 'auth');
    expect(refs.length).toBeGreaterThan(4);
    expect(Math.log2(refs.length) % 1).toBe(0); // doubled buckets, not the packed fallback
    for (const r of b.refs) expect(r.bytes).toBeLessThanOrEqual(LIMIT);
    const opened = await open(b);
    expect(byRevision(opened.basicAuth)).toEqual(byRevision(auth));
    expect(opened.table).toEqual(small);
    // the other kinds keep their default count
    expect(parts(b, 'hosts').map((r) => r.sha256)).toEqual(parts(plain, 'hosts').map((r) => r.sha256));
  });

  it('the same input seals the same parts (the spreading is a function of the content)', async () => {
    const auth = steered(12, 4);
    const a = await sealBundle(small, [], meta, signing, auth, undefined, { maxPartBytes: LIMIT });
    const b = await sealBundle(small, [], meta, signing, auth, a.sealed, { maxPartBytes: LIMIT });
    expect(b.refs).toEqual(a.refs);
  });

  it('Secrets steered into one bucket of every count up to the cap: packed in order instead, each part under the limit, and opened', async () => {
    const auth = steered(3, 4096, 20); // about 14 KiB each: two fit one part, three do not
    const b = await sealBundle(small, [], meta, signing, auth, undefined, { maxPartBytes: LIMIT });
    expect(parts(b, 'auth')).toHaveLength(2);
    for (const r of b.refs) expect(r.bytes).toBeLessThanOrEqual(LIMIT);
    expect(byRevision((await open(b)).basicAuth)).toEqual(byRevision(auth));
  });

  it('a table well under the limit seals exactly the default buckets', async () => {
    const auth = [material('a'), material('b'), material('c')];
    const a = await sealBundle(small, [], meta, signing, auth);
    const b = await sealBundle(small, [], meta, signing, auth, a.sealed, { maxPartBytes: LIMIT });
    expect(b.refs).toEqual(a.refs);
  });
});

describe('an entry that cannot fit one part is refused on the agent', () => {
  const refused = async (p: Promise<unknown>): Promise<BundleEntryTooLargeError> => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BundleEntryTooLargeError);
    return err as BundleEntryTooLargeError;
  };

  it('one basic-auth Secret over the limit: PORTICO_BUNDLE_ENTRY_TOO_LARGE naming the Secret', async () => {
    const auth = [material('fine'), material('huge', 60)];
    const err = await refused(sealBundle(small, [], meta, signing, auth, undefined, { maxPartBytes: LIMIT }));
    expect(err.code).toBe('PORTICO_BUNDLE_ENTRY_TOO_LARGE');
    expect(err.kind).toBe('auth');
    expect(err.entry).toBe('basic-auth Secret default/huge (60 users)');
    expect(err.bytes).toBeGreaterThan(LIMIT);
    expect(err.message).toMatch(
      /^basic-auth Secret default\/huge \(60 users\) is \d+ bytes in the table bundle, over the 32768-byte limit/,
    );
  });

  it('one host whose routes are over the limit: the error names the host', async () => {
    const many = compile(
      objects(
        ourClass(),
        service('web', [{ address: '10.0.0.1', port: 8080 }]),
        ingress('shop', { host: 'shop.example.com', paths: [{ path: '/', service: 'web' }] }),
        ingress('big', {
          host: 'big.example.com',
          paths: Array.from({ length: 400 }, (_, i) => ({ path: `/${'p'.repeat(60)}-${i}`, service: 'web' })),
        }),
      ),
    ).table;
    const err = await refused(sealBundle(many, [], meta, signing, [], undefined, { maxPartBytes: LIMIT }));
    expect(err.kind).toBe('hosts');
    expect(err.entry).toBe('host "big.example.com" (400 routes)');
  });

  it('a limit above what a worker accepts is never used', async () => {
    const b = await sealBundle(small, [], meta, signing, [], undefined, { maxPartBytes: 10 * MAX_PART_BYTES });
    for (const r of b.refs) expect(r.bytes).toBeLessThanOrEqual(MAX_PART_BYTES);
  });
});
