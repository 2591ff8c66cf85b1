// Basic authentication at the edge, unit by unit: the Authorization header, each hash format nginx's auth_basic
// checks (cases named after htpasswd's options and ingress-nginx's auth.go), the cache of successful checks, and
// the material's trip through a sealed bundle (encrypted, checked against its revision on the way out).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import aprMd5 from 'apache-md5';
import bcrypt from 'bcryptjs';
import { CompactEncrypt, CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { BasicAuthCache, basicAuthVerdict, basicCredentials, checkPassword } from '../../gateway/access/basic-auth.ts';
import { type BasicAuthMaterial, basicAuthMaterialMap, basicAuthRevision, hashFormat } from '../../gateway/table/basic-auth.ts';
import { type Bundle, openBundle, sealBundle, type SigningKeys, type VerifyingKeys, verifyManifest } from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const apr1 = aprMd5 as unknown as (password: string, salt?: string) => string;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const BCRYPT = bcrypt.hashSync('bar', 4);

describe('basicCredentials(): the Authorization header (RFC 7617)', () => {
  const cases: [string, string | null, { user: string; password: string } | null][] = [
    ['user and password', basic('foo', 'bar'), { user: 'foo', password: 'bar' }],
    ['a password with colons', basic('foo', 'a:b:c'), { user: 'foo', password: 'a:b:c' }],
    ['an empty password', basic('foo', ''), { user: 'foo', password: '' }],
    ['the scheme in any case', `bAsIc ${btoa('foo:bar')}`, { user: 'foo', password: 'bar' }],
    ['no header', null, null],
    ['another scheme', 'Bearer abc', null],
    ['no colon', `Basic ${btoa('foobar')}`, null],
    ['an empty user', `Basic ${btoa(':bar')}`, null],
    ['not base64', 'Basic ***', null],
  ];
  for (const [name, header, want] of cases) it(name, () => expect(basicCredentials(header)).toEqual(want));
});

describe('checkPassword(): the formats nginx checks', () => {
  const sha = `{SHA}${createHash('sha1').update('bar').digest('base64')}`;
  const cases: [string, string, boolean][] = [
    ['bcrypt $2b$ (auth.go buildSecret)', BCRYPT, true],
    ['bcrypt $2y$ (htpasswd -B)', BCRYPT.replace('$2b$', '$2y$'), true],
    ['bcrypt $2a$', BCRYPT.replace('$2b$', '$2a$'), true],
    ['{SHA} (htpasswd -s)', sha, true],
    ['$apr1$ (htpasswd -m)', apr1('bar'), true],
    ['$1$ MD5-crypt', apr1('bar', '$1$abcdefgh$'), true],
    ['{PLAIN}: not checked, never matches', '{PLAIN}bar', false],
    ['DES crypt: not checked, never matches', 'abJnggxhB/yWI', false],
    ['an empty hash (auth.go "invalid content")', '', false],
  ];
  for (const [name, hash, want] of cases) it(name, async () => expect(await checkPassword('bar', hash)).toBe(want));
  it('a wrong password never matches, in any format', async () => {
    for (const hash of [BCRYPT, sha, apr1('bar')]) expect(await checkPassword('baz', hash)).toBe(false);
  });
});

describe('basicAuthVerdict() and its cache', () => {
  const material: BasicAuthMaterial = { secret: 'default/test', type: 'auth-file', users: [{ user: 'foo', hash: BCRYPT }] };
  const revision = basicAuthRevision(material);
  const policy = { realm: 'test auth', secret: 'default/test', type: 'auth-file', revision } as const;
  const map = basicAuthMaterialMap([material]);

  it('no material for the route: 503, never open', async () => {
    expect((await basicAuthVerdict(policy, basic('foo', 'bar'), undefined)).kind).toBe('respond');
    expect(await basicAuthVerdict(policy, basic('foo', 'bar'), new Map())).toEqual({ kind: 'respond', status: 503, headers: [] });
  });
  it('no credentials: 401 with the realm', async () =>
    expect(await basicAuthVerdict(policy, null, map)).toEqual({
      kind: 'respond',
      status: 401,
      headers: [['www-authenticate', 'Basic realm="test auth"']],
    }));
  it('a success is cached under a digest, never the password; a failure is not cached', async () => {
    const cache = new BasicAuthCache();
    expect((await basicAuthVerdict(policy, basic('foo', 'baz'), map, cache)).kind).toBe('respond');
    expect(cache.size).toBe(0);
    expect(await basicAuthVerdict(policy, basic('foo', 'bar'), map, cache)).toEqual({ kind: 'pass' });
    expect(cache.size).toBe(1);
    expect(cache.has(BasicAuthCache.key(revision, 'foo', 'bar'))).toBe(true);
    expect(BasicAuthCache.key(revision, 'foo', 'bar')).not.toContain('bar');
  });
  it("an unknown user is refused even with another user's password, and nothing is cached", async () => {
    const cache = new BasicAuthCache();
    expect((await basicAuthVerdict(policy, basic('mallory', 'bar'), map, cache)).kind).toBe('respond');
    expect(cache.size).toBe(0);
  });
  it('bounded in size (the oldest goes first) and in time', () => {
    let now = 0;
    const cache = new BasicAuthCache(2, 1000, () => now);
    for (const k of ['a', 'b', 'c']) cache.add(k);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([false, true, true]);
    now = 1000;
    expect(cache.has('b')).toBe(false);
  });
  it('material that is not { user, hash } entries is refused', () => {
    expect(() => basicAuthMaterialMap([{ secret: 'default/test', type: 'auth-file', users: [{ user: 'a:b', hash: 'x' }] }])).toThrow();
    expect(() => basicAuthMaterialMap([{ secret: 'nope', type: 'auth-file', users: [] }])).toThrow();
  });
});

describe('the material in a sealed bundle', () => {
  let dir: string;
  let signing: SigningKeys;
  let verifying: VerifyingKeys;
  const material: BasicAuthMaterial = { secret: 'default/test', type: 'auth-file', users: [{ user: 'alice', hash: BCRYPT }] };
  const table = compile(
    objects(
      ourClass(),
      service('web', [{ address: '10.0.0.1', port: 8080 }]),
      ingress('shop', { host: 'shop.example.com', paths: [{ path: '/', service: 'web' }] }),
    ),
  ).table;
  const meta = { cluster: 'prod', seq: 1, publishedAt: '2026-01-01T00:00:00.000Z', publisher: 'agent-0' };
  const open = async (b: Bundle, keys: VerifyingKeys | null) =>
    openBundle(await verifyManifest(b.manifest, verifying, { cluster: 'prod' }), async (ref) => b.parts.get(ref.name) ?? null, keys);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'portico-basic-auth-'));
    await generateKeySet(join(dir, 'keys'));
    signing = await loadSigningKeys(join(dir, 'keys'));
    verifying = await loadVerifyingKeys(join(dir, 'keys'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('round trip: encrypted in part auth/0, the same material out', async () => {
    const b = await sealBundle(table, [], meta, signing, [material]);
    const text = new TextDecoder().decode(b.parts.get('auth/0'));
    expect(text).toContain(basicAuthRevision(material));
    expect(text).not.toContain('alice');
    expect(text).not.toContain(BCRYPT.slice(7));
    expect((await open(b, verifying)).basicAuth).toEqual([material]);
  });
  it('without keys (inspection): left out', async () => {
    expect((await open(await sealBundle(table, [], meta, signing, [material]), null)).basicAuth).toEqual([]);
  });
  it('under another encryption key: PORTICO_BUNDLE_DECRYPT', async () => {
    const other = { ...signing, encrypt: new Uint8Array(32).fill(7) };
    await expect(open(await sealBundle(table, [], meta, other, [material]), verifying)).rejects.toMatchObject({
      code: 'PORTICO_BUNDLE_DECRYPT',
    });
  });
  it('material that does not match its revision (the agent sealed it wrong): PORTICO_BUNDLE_INVALID', async () => {
    const b = await sealBundle(table, [], meta, signing, [material]);
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ ...material, users: [] })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .encrypt(signing.encrypt);
    const part = new TextEncoder().encode(JSON.stringify([{ revision: basicAuthRevision(material), jwe }]));
    // A manifest signed by the agent key over the edited part, so only the revision check can catch it.
    const m = await verifyManifest(b.manifest, verifying, { cluster: 'prod' });
    const refs = [...m.parts.filter((p) => p.name !== 'auth/0')];
    const digest = createHash('sha256').update(part).digest('hex');
    refs.push({ name: 'auth/0', sha256: digest, bytes: part.length });
    const manifest = await new CompactSign(new TextEncoder().encode(JSON.stringify({ ...m, parts: refs })))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'portico.table' })
      .sign(signing.sign);
    const readPart = async (ref: { name: string }) => (ref.name === 'auth/0' ? part : (b.parts.get(ref.name) ?? null));
    await expect(openBundle(await verifyManifest(manifest, verifying, { cluster: 'prod' }), readPart, verifying)).rejects.toMatchObject({
      code: 'PORTICO_BUNDLE_INVALID',
    });
  });
});

describe('bcrypt cost bound', () => {
  it('a cost the edge checks (4 to 12) is bcrypt; a higher one is unusable, never run', () => {
    expect(hashFormat(bcrypt.hashSync('x', 4).replace('$04$', '$12$'))).toBe('bcrypt');
    expect(hashFormat(bcrypt.hashSync('x', 4).replace('$04$', '$13$'))).toBeNull();
    expect(hashFormat(bcrypt.hashSync('x', 4).replace('$04$', '$31$'))).toBeNull();
    expect(hashFormat(bcrypt.hashSync('x', 4).replace('$04$', '$03$'))).toBeNull();
  });
});
