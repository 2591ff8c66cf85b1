// What an attacker with write access to Redis can try against a worker, and the one answer every worker
// must give, whatever its transport: follower.test.ts runs each case against the follower over ioredis
// (Node, Deno) and over the RESP client (workerd). A refusal keeps the last good table serving.
import type { Redis } from 'ioredis';
import { sealBundle, MAX_MANIFEST_BYTES, type Bundle, type SigningKeys } from '../../gateway/table/bundle.ts';
import { redisLayout, type CurrentPointer, type HistoryEntry } from '../../gateway/table/redis-layout.ts';
import { generateSelfSignedCertificate } from '../../gateway/tls/selfsigned.ts';
import { compile } from '../../sync/compile/index.ts';
import { rollback } from '../../sync/publish/redis.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';
import { manifestRefs, plantBundle } from '../support/plant.ts';

const cert = generateSelfSignedCertificate({ commonName: 'app.test', keyType: 'ec' });

/** A table with one TLS host; `tag` changes its content (and so its version). */
export const world = (tag: number) =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8000 + tag }]),
      tlsSecret('tls', cert.certPem, cert.keyPem),
      ingress('app', { host: 'app.test', paths: [{ path: '/', service: 'web' }], tls: [{ hosts: ['app.test'], secretName: 'tls' }] }),
    ),
  );
export const certificateKey = cert.keyPem;

export interface CaseContext {
  redis: Redis;
  cluster: string;
  signing: SigningKeys;
  otherSigning: SigningKeys;
  /** Published before `good` (lower sequence number), still in the history: what a rollback goes back to. */
  older: string;
}

export type Expected = { refused: string; message?: RegExp } | { serves: 'older' };

export interface FollowerCase {
  name: string;
  expect: Expected;
  act(x: CaseContext): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A genuinely signed bundle of world(tag) for this cluster, unless the case says otherwise. */
function seal(x: CaseContext, tag: number, o: { cluster?: string; seq?: number; keys?: SigningKeys } = {}): Promise<Bundle> {
  const w = world(tag);
  return sealBundle(
    w.table,
    w.certificates,
    { cluster: o.cluster ?? x.cluster, seq: o.seq ?? Date.now() + 1000, publishedAt: new Date().toISOString(), publisher: 'agent' },
    o.keys ?? x.signing,
  );
}

/** Writes a bundle and moves the pointer the way an attacker with Redis access could: any bytes, any pointer. */
async function plant(x: CaseContext, b: Bundle, version: string, pointer: Partial<CurrentPointer> = {}): Promise<void> {
  await plantBundle(x.redis, x.cluster, version, b);
  await setPointer(
    x,
    JSON.stringify({ version, seq: Date.now() + 1000, publishedAt: new Date().toISOString(), publisher: 'attacker', ...pointer }),
  );
}

const setPointer = (x: CaseContext, raw: string) => x.redis.set(redisLayout(x.cluster).current, raw);

/** `edit` rewrites the canonical JSON of part backends/0: the part world(tag) does not share with the served table
 * (a worker never reads again a part it holds, so an edit of a shared one would not reach it). */
async function plantEdited(x: CaseContext, tag: number, edit: (json: string) => string): Promise<void> {
  const b = await seal(x, tag);
  b.parts.set('backends/0', enc.encode(edit(dec.decode(b.parts.get('backends/0')!))));
  await plant(x, b, world(tag).table.version);
}

export const CASES: FollowerCase[] = [
  {
    name: 'a manifest signed with another key (forged signature)',
    expect: { refused: 'PORTICO_BUNDLE_SIGNATURE' },
    act: async (x) => plant(x, await seal(x, 1, { keys: x.otherSigning }), world(1).table.version),
  },
  {
    name: 'a genuine manifest replayed under another version',
    expect: { refused: 'PORTICO_BUNDLE_VERSION' },
    act: async (x) => plant(x, await seal(x, 2), world(3).table.version),
  },
  {
    name: 'the pointer moved to an older signed version without a rollback record',
    expect: { refused: 'PORTICO_TABLE_OLDER' },
    // The (unsigned) pointer claims a high seq; the signed manifest says 5: the signed one counts.
    act: async (x) => plant(x, await seal(x, 4, { seq: 5 }), world(4).table.version),
  },
  {
    name: 'a manifest over the size limit',
    expect: { refused: 'PORTICO_BUNDLE_TOO_LARGE', message: /manifest .* over 4194304 bytes/ },
    act: async (x) => {
      const version = world(5).table.version;
      await x.redis.hset(redisLayout(x.cluster).table(version), 'manifest', 'x'.repeat(MAX_MANIFEST_BYTES + 1));
      await setPointer(x, JSON.stringify({ version, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'attacker' }));
    },
  },
  {
    name: 'a part larger than its signed size (refused before it is read)',
    expect: { refused: 'PORTICO_BUNDLE_DIGEST', message: /larger than its signed size/ },
    act: (x) => plantEdited(x, 6, (json) => json + ' '.repeat(1024)),
  },
  {
    name: 'a part edited to the same length (only the digest can tell)',
    expect: { refused: 'PORTICO_BUNDLE_DIGEST', message: /does not match its signed digest/ },
    act: (x) =>
      plantEdited(x, 7, (json) => {
        const edited = json.replace('"address":"127.0.0.1"', '"address":"127.0.0.9"');
        if (edited === json || edited.length !== json.length) throw new Error('the edit must change the part and keep its length');
        return edited;
      }),
  },
  {
    name: "another cluster's signed table",
    expect: { refused: 'PORTICO_BUNDLE_CLUSTER' },
    act: async (x) => plant(x, await seal(x, 8, { cluster: 'elsewhere' }), world(8).table.version),
  },
  {
    name: 'a part missing from Redis',
    expect: { refused: 'PORTICO_BUNDLE_PART_MISSING', message: /part backends\/0 .* is missing/ },
    act: async (x) => {
      const b = await seal(x, 9);
      await plant(x, b, world(9).table.version);
      const ref = manifestRefs(b.manifest).find((r) => r.name === 'backends/0')!;
      await x.redis.del(redisLayout(x.cluster).part(ref.sha256));
    },
  },
  {
    name: 'a pointer without a version',
    expect: { refused: 'PORTICO_TABLE_POINTER' },
    act: (x) => setPointer(x, JSON.stringify({ seq: Date.now() + 1000, publishedAt: 'now', publisher: 'attacker' })).then(() => {}),
  },
  {
    name: 'a pointer that is not JSON',
    expect: { refused: 'PORTICO_TABLE_POINTER' },
    act: (x) => setPointer(x, '{"version": "sha256:').then(() => {}),
  },
  {
    name: 'a private key that does not decrypt with the shared key',
    expect: { refused: 'PORTICO_BUNDLE_DECRYPT' },
    act: async (x) =>
      plant(x, await seal(x, 10, { keys: { sign: x.signing.sign, encrypt: x.otherSigning.encrypt } }), world(10).table.version),
  },
  {
    name: 'a table key of the wrong type (Redis answers with an error)',
    expect: { refused: 'PORTICO_REDIS_REPLY' },
    act: async (x) => {
      const version = world(11).table.version;
      await x.redis.set(redisLayout(x.cluster).table(version), 'not a hash');
      await setPointer(x, JSON.stringify({ version, seq: Date.now() + 1000, publishedAt: 'now', publisher: 'attacker' }));
    },
  },
  {
    name: 'an older version made current by a rollback (accepted)',
    expect: { serves: 'older' },
    act: async (x) => {
      const history = (await x.redis.lrange(redisLayout(x.cluster).history, 0, -1)).map((e) => JSON.parse(e) as HistoryEntry);
      const entry = history.find((e) => e.version === x.older);
      if (entry === undefined) throw new Error('the older version is not in the history');
      if ((await rollback(x.redis, x.cluster, entry, 'operator')) !== 'rolled-back') throw new Error('rollback did nothing');
    },
  },
];
