// JWT verification at the edge with real signed tokens: keys made by jose in the test (RS256 and ES256), the policy
// compiled from annotations by the real compiler (keys from a ConfigMap), verified by the gate as a request would
// be. Answers per RFC 6750 §3: no token → 401 `Bearer realm`, a bad one → 401 `error="invalid_token"`.
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { type GateRequest, runGate } from '../../gateway/access/gate.ts';
import { jwtVerdict } from '../../gateway/access/jwt.ts';
import type { AccessPolicy } from '../../gateway/table/schema.ts';
import { compile } from '../../sync/compile/index.ts';
import { app, cls, configMap, ingress, objects, prefix, rule } from '../support/builders.ts';

const P = 'portico.dev/auth-jwt-';
const N = 'nginx.ingress.kubernetes.io/';
const ISSUER = 'https://issuer.test/';

const rs = await generateKeyPair('RS256', { extractable: true });
const es = await generateKeyPair('ES256', { extractable: true });
const other = await generateKeyPair('RS256', { extractable: true });
const pub = async (k: CryptoKey, kid: string): Promise<JWK> => ({ ...(await exportJWK(k)), kid });
const JWKS = JSON.stringify({ keys: [await pub(rs.publicKey, 'rs'), await pub(es.publicKey, 'es')] });

/** The route's access policy, compiled from these annotations (plus the key source) by the real compiler. */
function policyOf(annotations: Record<string, string>, jwks = JWKS): AccessPolicy {
  const r = compile(
    objects(
      cls(),
      ...app('web'),
      configMap('keys', { 'jwks.json': jwks }),
      ingress('web', { annotations: { [`${P}jwks-configmap`]: 'keys', ...annotations }, rules: [rule('foo.com', prefix('/', 'web'))] }),
    ),
  );
  const a = r.table.hosts[0]?.routes[0]?.policies.access;
  if (a === undefined || r.diagnostics.length > 0) throw new Error(`no policy: ${JSON.stringify(r.diagnostics)}`);
  return a;
}

const BASE = policyOf({
  [`${P}issuer`]: ISSUER,
  [`${P}audiences`]: 'api',
  [`${P}realm`]: 'api',
  [`${P}claims-to-headers`]: 'sub:X-User, admin:X-Admin, groups:X-Groups',
});

interface Sign {
  key?: CryptoKey;
  alg?: string;
  kid?: string;
  claims?: Record<string, unknown>;
  iss?: string;
  aud?: string;
  /** null: no exp claim at all. */
  exp?: number | string | null;
  nbf?: number;
}
async function token(o: Sign = {}): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const key = o.key ?? (alg === 'ES256' ? es.privateKey : rs.privateKey);
  const kid = o.kid ?? (alg === 'ES256' ? 'es' : 'rs');
  let jwt = new SignJWT({ sub: 'alice', admin: true, groups: ['a'], ...o.claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? 'api')
    .setIssuedAt();
  if (o.exp !== null) jwt = jwt.setExpirationTime(o.exp ?? '5m');
  if (o.nbf !== undefined) jwt = jwt.setNotBefore(o.nbf);
  return jwt.sign(key);
}

function request(headers: Record<string, string>, search = ''): GateRequest {
  return {
    httpHost: 'foo.com',
    scheme: 'http',
    method: 'GET',
    path: '/',
    search,
    clientIp: '192.0.2.1',
    localPort: 80,
    header: (n) => headers[n] ?? null,
    headers: Object.entries(headers),
    requestId: 'rid',
    scope: 'default/web foo.com /',
  };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const CHALLENGE = 'Bearer realm="api"';
const INVALID = 'Bearer realm="api", error="invalid_token"';
const now = () => Math.floor(Date.now() / 1000);

/** The token with its last signature character changed (still base64url). */
function tampered(t: string, part: 'payload' | 'signature'): string {
  const [h, p, s] = t.split('.') as [string, string, string];
  if (part === 'signature') return `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}`;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  return `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url')}.${s}`;
}

describe('tokens at the gate', () => {
  const cases: { name: string; req: () => Promise<GateRequest>; status: number | 'pass'; challenge?: string; policy?: AccessPolicy }[] = [
    { name: 'RS256, valid', req: async () => request(bearer(await token())), status: 'pass' },
    { name: 'ES256, valid', req: async () => request(bearer(await token({ alg: 'ES256' }))), status: 'pass' },
    {
      name: 'the scheme in any case (RFC 9110 §11.1)',
      req: async () => request({ authorization: `bEaReR ${await token()}` }),
      status: 'pass',
    },
    { name: 'no Authorization header', req: async () => request({}), status: 401, challenge: CHALLENGE },
    {
      name: 'another scheme (Basic)',
      req: async () => request({ authorization: 'Basic Zm9vOmJhcg==' }),
      status: 401,
      challenge: CHALLENGE,
    },
    { name: 'expired', req: async () => request(bearer(await token({ exp: now() - 60 }))), status: 401, challenge: INVALID },
    {
      name: 'expired, inside the clock skew',
      req: async () => request(bearer(await token({ exp: now() - 20 }))),
      policy: policyOf({ [`${P}issuer`]: ISSUER, [`${P}clock-skew`]: '60' }),
      status: 'pass',
    },
    {
      name: 'no exp: a token that would be good forever',
      req: async () => request(bearer(await token({ exp: null }))),
      status: 401,
      challenge: INVALID,
    },
    { name: 'not yet valid (nbf)', req: async () => request(bearer(await token({ nbf: now() + 300 }))), status: 401, challenge: INVALID },
    { name: 'wrong issuer', req: async () => request(bearer(await token({ iss: 'https://evil.test/' }))), status: 401, challenge: INVALID },
    { name: 'wrong audience', req: async () => request(bearer(await token({ aud: 'other' }))), status: 401, challenge: INVALID },
    {
      name: 'signed by a key not in the set (same kid)',
      req: async () => request(bearer(await token({ key: other.privateKey }))),
      status: 401,
      challenge: INVALID,
    },
    {
      name: 'a kid not in the set',
      req: async () => request(bearer(await token({ key: other.privateKey, kid: 'nope' }))),
      status: 401,
      challenge: INVALID,
    },
    {
      name: 'an algorithm the route does not allow (ES256 with algorithms RS256)',
      req: async () => request(bearer(await token({ alg: 'ES256' }))),
      policy: policyOf({ [`${P}algorithms`]: 'RS256' }),
      status: 401,
      challenge: 'Bearer realm="", error="invalid_token"',
    },
    {
      name: 'alg "none" (an unsecured JWT)',
      req: async () =>
        request(bearer(new UnsecuredJWT({ sub: 'alice' }).setIssuer(ISSUER).setAudience('api').setExpirationTime('5m').encode())),
      status: 401,
      challenge: INVALID,
    },
    {
      name: 'HS256 signed with the RSA public key as the secret (algorithm confusion)',
      req: async () => {
        const secret = new TextEncoder().encode(JSON.stringify(await exportJWK(rs.publicKey)));
        const t = await new SignJWT({ sub: 'alice' })
          .setProtectedHeader({ alg: 'HS256', kid: 'rs' })
          .setIssuer(ISSUER)
          .setAudience('api')
          .setExpirationTime('5m')
          .sign(secret);
        return request(bearer(t));
      },
      status: 401,
      challenge: INVALID,
    },
    { name: 'tampered payload', req: async () => request(bearer(tampered(await token(), 'payload'))), status: 401, challenge: INVALID },
    { name: 'tampered signature', req: async () => request(bearer(tampered(await token(), 'signature'))), status: 401, challenge: INVALID },
    { name: 'not a JWT', req: async () => request(bearer('abc.def')), status: 401, challenge: INVALID },
    { name: 'a token over 16 KiB', req: async () => request(bearer(`${'a'.repeat(17 * 1024)}.b.c`)), status: 401, challenge: INVALID },
    {
      name: 'token-from cookie',
      req: async () => request({ cookie: `a=b; session=${await token()}` }),
      policy: policyOf({ [`${P}token-from`]: 'cookie:session' }),
      status: 'pass',
    },
    {
      name: 'token-from cookie: the Authorization header is not read',
      req: async () => request(bearer(await token())),
      policy: policyOf({ [`${P}token-from`]: 'cookie:session' }),
      status: 401,
      challenge: 'Bearer realm=""',
    },
    {
      name: 'token-from query',
      req: async () => request({}, `?x=1&access_token=${await token()}`),
      policy: policyOf({ [`${P}token-from`]: 'query:access_token' }),
      status: 'pass',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const o = await runGate(c.policy ?? BASE, await c.req(), {});
      if (c.status === 'pass') {
        expect(o.kind).toBe('pass');
        return;
      }
      if (o.kind !== 'respond') throw new Error(`expected ${c.status}, the request passed`);
      expect(o.status).toBe(c.status);
      expect(o.headers).toEqual([['www-authenticate', c.challenge]]);
    });
  }
});

describe('claims to headers', () => {
  it('copies text, numbers and booleans; never arrays; the client cannot set them', async () => {
    const o = await runGate(BASE, request({ ...bearer(await token()), 'x-user': 'forged', 'x-groups': 'forged' }), {});
    if (o.kind !== 'pass') throw new Error('expected pass');
    // [name, null] removes the client's header; [name, value] sets the claim (gateway/proxy/headers.ts withOverrides).
    expect(o.upstreamHeaders).toEqual([
      ['x-user', null],
      ['x-admin', null],
      ['x-groups', null],
      ['x-user', 'alice'],
      ['x-admin', 'true'],
    ]);
  });
  it('a claim with a line break sets no header', async () => {
    const v = await jwtVerdict(BASE.jwt!, request(bearer(await token({ claims: { sub: 'a\r\nx-admin: true' } }))));
    expect(v).toEqual({ kind: 'pass', upstreamHeaders: [['x-admin', 'true']] });
  });
  it('a refused request removes nothing and adds nothing (it never goes upstream)', async () => {
    const o = await runGate(BASE, request({ 'x-user': 'forged' }), {});
    expect(o.kind).toBe('respond');
  });
});

describe('satisfy any: JWT is one more authentication', () => {
  const any = policyOf({ [`${N}satisfy`]: 'any', [`${N}allowlist-source-range`]: '10.0.0.0/8', [`${P}realm`]: 'api' });
  it('an allowed address needs no token', async () => {
    expect((await runGate(any, { ...request({}), sourceGranted: true }, {})).kind).toBe('pass');
  });
  it('a refused address with a valid token passes', async () => {
    expect((await runGate(any, { ...request(bearer(await token({ aud: 'x' }))), sourceGranted: false }, {})).kind).toBe('pass');
  });
  it('a refused address without a token: the 401 asking for one outranks the 403', async () => {
    const o = await runGate(any, { ...request({}), sourceGranted: false }, {});
    expect(o.kind === 'respond' && [o.status, o.headers]).toEqual([401, [['www-authenticate', CHALLENGE]]]);
  });
});

describe('key rotation is a table change', () => {
  it('a policy with the new keys refuses a token of the old key, and takes one of the new', async () => {
    const rotated = policyOf({}, JSON.stringify({ keys: [await pub(other.publicKey, 'rs')] }));
    const old = await token({ iss: 'x', aud: 'y' });
    expect((await runGate(policyOf({}), request(bearer(old)), {})).kind).toBe('pass');
    const o = await runGate(rotated, request(bearer(old)), {});
    expect(o.kind === 'respond' && o.status).toBe(401);
    expect((await runGate(rotated, request(bearer(await token({ key: other.privateKey }))), {})).kind).toBe('pass');
  });
});
