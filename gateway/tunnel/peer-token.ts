// Tokens between clusters' tunnels: a short-lived JWT (EdDSA, jose) that the sending cluster's
// tunnel signs with its own key and the receiving cluster's gateway verifies against the keys it trusts.
// It names who sends (iss), who may accept it (aud) and the backends it may reach (bk), and lives at most
// MAX_TTL_SECONDS, so a token copied off the wire is worth one backend for a minute, never the cluster.
import { decodeJwt, jwtVerify, SignJWT, type CryptoKey, type KeyObject } from 'jose';
import { PorticoError } from '../table/portico-error.ts';

export const PEER_TOKEN_TYPE = 'portico-peer+jwt';
export const MAX_TTL_SECONDS = 60;
/** Clock skew tolerated between clusters. */
const SKEW_SECONDS = 5;

type Key = CryptoKey | KeyObject;

export type PeerTokenCode =
  | 'PORTICO_PEER_TOKEN_MISSING'
  | 'PORTICO_PEER_TOKEN_MALFORMED'
  | 'PORTICO_PEER_TOKEN_UNTRUSTED'
  | 'PORTICO_PEER_TOKEN_INVALID'
  | 'PORTICO_PEER_TOKEN_EXPIRED'
  | 'PORTICO_PEER_TOKEN_AUDIENCE'
  | 'PORTICO_PEER_TOKEN_SCOPE';

export class PeerTokenError extends PorticoError {
  constructor(
    readonly code: PeerTokenCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PeerClaims {
  iss: string;
  aud: string;
  bk: string[];
}

export async function signPeerToken(key: Key, c: PeerClaims, ttlSeconds = 30): Promise<string> {
  if (ttlSeconds > MAX_TTL_SECONDS) throw new RangeError(`peer tokens live at most ${MAX_TTL_SECONDS} s`);
  return new SignJWT({ bk: c.bk })
    .setProtectedHeader({ alg: 'EdDSA', typ: PEER_TOKEN_TYPE })
    .setIssuer(c.iss)
    .setAudience(c.aud)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(crypto.randomUUID())
    .sign(key);
}

/** Verifies `token` for a request to `backend` at this cluster (`audience`); `trust` maps issuer clusters to
 * their public keys. Returns the issuer. Every failure is a PeerTokenError with a stable code. */
export async function verifyPeerToken(
  token: string | undefined,
  o: { trust: ReadonlyMap<string, Key>; audience: string; backend: string },
): Promise<string> {
  if (token === undefined || token === '') throw new PeerTokenError('PORTICO_PEER_TOKEN_MISSING', 'no peer token');
  if (token.length > 4096) throw new PeerTokenError('PORTICO_PEER_TOKEN_MALFORMED', 'peer token too long');
  let iss: unknown;
  try {
    iss = decodeJwt(token).iss;
  } catch {
    throw new PeerTokenError('PORTICO_PEER_TOKEN_MALFORMED', 'peer token is not a JWT');
  }
  const key = typeof iss === 'string' ? o.trust.get(iss) : undefined;
  if (key === undefined)
    throw new PeerTokenError('PORTICO_PEER_TOKEN_UNTRUSTED', `peer token from an untrusted cluster (${JSON.stringify(iss)})`);
  let payload: { aud?: unknown; bk?: unknown; iat?: number; exp?: number };
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['EdDSA'],
      typ: PEER_TOKEN_TYPE,
      issuer: iss as string,
      clockTolerance: SKEW_SECONDS,
      maxTokenAge: MAX_TTL_SECONDS + SKEW_SECONDS,
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
    }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_JWT_EXPIRED') throw new PeerTokenError('PORTICO_PEER_TOKEN_EXPIRED', 'peer token expired');
    throw new PeerTokenError('PORTICO_PEER_TOKEN_INVALID', `peer token refused: ${(err as Error).message}`);
  }
  // A token whose own lifetime is longer than allowed is refused even while it is fresh.
  if (payload.exp === undefined || payload.iat === undefined || payload.exp - payload.iat > MAX_TTL_SECONDS) {
    throw new PeerTokenError('PORTICO_PEER_TOKEN_INVALID', `peer token lives longer than ${MAX_TTL_SECONDS} s`);
  }
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.length !== 1 || aud[0] !== o.audience)
    throw new PeerTokenError('PORTICO_PEER_TOKEN_AUDIENCE', `peer token is for ${JSON.stringify(payload.aud)}, not ${o.audience}`);
  if (!Array.isArray(payload.bk) || !payload.bk.includes(o.backend))
    throw new PeerTokenError('PORTICO_PEER_TOKEN_SCOPE', `peer token does not cover backend ${o.backend}`);
  return iss as string;
}
