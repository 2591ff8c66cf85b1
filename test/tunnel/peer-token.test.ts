// Peer tokens between clusters' tunnels: what a receiving gateway accepts and what it refuses,
// with the stable code of each refusal.
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_TTL_SECONDS, PEER_TOKEN_TYPE, signPeerToken, verifyPeerToken } from '../../gateway/tunnel/peer-token.ts';

let a: { privateKey: CryptoKey; publicKey: CryptoKey };
let mallory: { privateKey: CryptoKey; publicKey: CryptoKey };
let trust: Map<string, CryptoKey>;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  a = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  mallory = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  trust = new Map([['cluster-a', a.publicKey]]);
});

const raw = (
  key: CryptoKey,
  o: { iss?: string; aud?: string | string[]; bk?: unknown; iat?: number; exp?: number; typ?: string; jti?: boolean } = {},
) => {
  const t = new SignJWT({ bk: o.bk ?? ['shop/web:80'] })
    .setProtectedHeader({ alg: 'EdDSA', typ: o.typ ?? PEER_TOKEN_TYPE })
    .setIssuer(o.iss ?? 'cluster-a')
    .setAudience(o.aud ?? 'cluster-b')
    .setIssuedAt(o.iat ?? now())
    .setExpirationTime(o.exp ?? now() + 30);
  if (o.jti !== false) t.setJti('j1');
  return t.sign(key);
};
const check = (token: string | undefined, backend = 'shop/web:80') => verifyPeerToken(token, { trust, audience: 'cluster-b', backend });

describe('accepted', () => {
  it('a token signed by a trusted cluster, for this cluster and this backend', async () => {
    expect(await check(await signPeerToken(a.privateKey, { iss: 'cluster-a', aud: 'cluster-b', bk: ['shop/web:80', 'shop/api:80'] }))).toBe(
      'cluster-a',
    );
  });
  it('a token 3 s in the future (clock skew between clusters)', async () => {
    expect(await check(await raw(a.privateKey, { iat: now() + 3, exp: now() + 33 }))).toBe('cluster-a');
  });
});

describe('refused, with a stable code', () => {
  it.each<[string, () => Promise<string | undefined>, string, string?]>([
    ['no token', async () => undefined, 'PORTICO_PEER_TOKEN_MISSING'],
    ['not a JWT', async () => 'hello.world', 'PORTICO_PEER_TOKEN_MALFORMED'],
    ['forged: claims cluster-a, signed by another key', () => raw(mallory.privateKey), 'PORTICO_PEER_TOKEN_INVALID'],
    ['from a cluster nobody trusts', () => raw(mallory.privateKey, { iss: 'cluster-m' }), 'PORTICO_PEER_TOKEN_UNTRUSTED'],
    ['expired', () => raw(a.privateKey, { iat: now() - 90, exp: now() - 30 }), 'PORTICO_PEER_TOKEN_EXPIRED'],
    [
      'issued long ago, still "valid" by exp (too old counts as expired)',
      () => raw(a.privateKey, { iat: now() - 600, exp: now() + 30 }),
      'PORTICO_PEER_TOKEN_EXPIRED',
    ],
    ['a lifetime over the maximum', () => raw(a.privateKey, { exp: now() + MAX_TTL_SECONDS * 10 }), 'PORTICO_PEER_TOKEN_INVALID'],
    ['for another cluster', () => raw(a.privateKey, { aud: 'cluster-c' }), 'PORTICO_PEER_TOKEN_AUDIENCE'],
    ['for several audiences', () => raw(a.privateKey, { aud: ['cluster-b', 'cluster-c'] }), 'PORTICO_PEER_TOKEN_AUDIENCE'],
    ['scoped to another backend', () => raw(a.privateKey, { bk: ['shop/admin:80'] }), 'PORTICO_PEER_TOKEN_SCOPE'],
    ['without a backend list', () => raw(a.privateKey, { bk: 'shop/web:80' }), 'PORTICO_PEER_TOKEN_SCOPE'],
    ['another token type (e.g. an ID token)', () => raw(a.privateKey, { typ: 'JWT' }), 'PORTICO_PEER_TOKEN_INVALID'],
    ['no token id', () => raw(a.privateKey, { jti: false }), 'PORTICO_PEER_TOKEN_INVALID'],
    [
      'unsigned (alg none)',
      async () =>
        `${Buffer.from('{"alg":"none","typ":"portico-peer+jwt"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'cluster-a', aud: 'cluster-b', bk: ['shop/web:80'], iat: now(), exp: now() + 30, jti: 'x' })).toString('base64url')}.`,
      'PORTICO_PEER_TOKEN_INVALID',
    ],
  ])('%s', async (_n, make, code) => {
    await expect(check(await make())).rejects.toMatchObject({ code });
  });

  it('signing refuses a lifetime over the maximum', async () => {
    await expect(signPeerToken(a.privateKey, { iss: 'cluster-a', aud: 'cluster-b', bk: [] }, MAX_TTL_SECONDS + 1)).rejects.toThrow(
      RangeError,
    );
  });
});

// A peer token arrives in a request header from another cluster: its size is bounded before it is decoded or
// verified (4,096 characters, far above a real token's few hundred). Each row is a token validly signed by a
// trusted cluster for this cluster and backend, padded to an exact length, so nothing but its size can refuse it.
describe('size cap', () => {
  /** A valid token of exactly `length` characters. Base64url never yields a length ≡ 1 (mod 4), so padding
   * goes in a claim and in the `kid` header, one of which reaches any length. */
  const sized = async (length: number): Promise<string> => {
    const iat = now();
    const make = (kid: number, pad: number) =>
      new SignJWT({ bk: ['shop/web:80'], pad: 'p'.repeat(pad) })
        .setProtectedHeader({ alg: 'EdDSA', typ: PEER_TOKEN_TYPE, kid: 'k'.repeat(kid) })
        .setIssuer('cluster-a')
        .setAudience('cluster-b')
        .setIssuedAt(iat)
        .setExpirationTime(iat + 30)
        .setJti('j1')
        .sign(a.privateKey);
    for (let kid = 1; kid <= 4; kid++) {
      // Every 3 characters of padding add 4 to the token: start just below the length wanted.
      const base = (await make(kid, 0)).length;
      for (let pad = Math.max(0, Math.floor(((length - base) * 3) / 4) - 3); ; pad++) {
        const t = await make(kid, pad);
        if (t.length === length) return t;
        if (t.length > length) break;
      }
    }
    throw new Error(`no token of ${length} characters`);
  };

  const rows: { name: string; length: number; code: string | null }[] = [
    { name: 'a token of 4,096 characters (the cap) is accepted', length: 4096, code: null },
    { name: 'a token of 4,095 characters is accepted', length: 4095, code: null },
    {
      name: 'a token of 4,097 characters is refused as malformed, before it is verified',
      length: 4097,
      code: 'PORTICO_PEER_TOKEN_MALFORMED',
    },
    { name: 'a token of 64 KiB is refused as malformed', length: 65_536, code: 'PORTICO_PEER_TOKEN_MALFORMED' },
  ];
  for (const r of rows) {
    it(r.name, async () => {
      const token = await sized(r.length);
      expect(token).toHaveLength(r.length);
      if (r.code === null) expect(await check(token)).toBe('cluster-a');
      else await expect(check(token)).rejects.toMatchObject({ code: r.code, message: 'peer token too long' });
    });
  }
});
