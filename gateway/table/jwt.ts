// JWT verification in the contract (Portico's own portico.dev/auth-jwt-* annotations; neither ingress-nginx nor
// Traefik's open-source edition has it). The route carries everything a worker needs to verify a token with no
// outbound call: the public keys (a JWK Set, RFC 7517 §5) and the rules (issuer, audiences, algorithms, clock
// skew). The keys are public, so they travel INSIDE the signed table: a key rotation is a new table version, and a
// worker never fetches anything. Symmetric (`oct`) keys are never carried: they would sit in Redis and in every
// table diff in plaintext, so the compiler refuses them (and with them every HS* algorithm).

/** Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1) a route may allow. Never `none` (an unsigned token
 * would pass) and never HS256/384/512 (a public key used as an HMAC secret is the classic algorithm confusion,
 * and Portico carries no symmetric key). */
export const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** A public JWK with only the members verification needs (RFC 7517 §4, RFC 7518 §6.2.1 and §6.3.1, RFC 8037 §2):
 * the compiler drops the rest (x5c, key_ops, ...), and validate() refuses any private member. */
export type JwtPublicKey =
  | { kty: 'RSA'; n: string; e: string; kid?: string; alg?: string; use?: string }
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string; kid?: string; alg?: string; use?: string }
  | { kty: 'OKP'; crv: 'Ed25519'; x: string; kid?: string; alg?: string; use?: string };

/** Where the token is read from (portico.dev/auth-jwt-token-from). */
export type JwtTokenFrom = { kind: 'header' } | { kind: 'cookie'; name: string } | { kind: 'query'; name: string };

export interface JwtClaimHeader {
  /** A top-level claim name. */
  claim: string;
  /** Lower-case header name set on the upstream request; a client's header of that name never reaches it. */
  header: string;
}

export interface JwtPolicy {
  /** Where the keys came from, for inspection and diagnostics: `configmap:ns/name`, `secret:ns/name` or
   * `url:https://...`. */
  source: string;
  /** The public keys (at least one). */
  keys: JwtPublicKey[];
  /** Algorithms a token's header may name (sorted, distinct). */
  algorithms: JwtAlgorithm[];
  /** Required `iss` (RFC 7519 §4.1.1); absent: any issuer. */
  issuer?: string;
  /** `aud` must contain one of these (RFC 7519 §4.1.3); absent: any audience. */
  audiences?: string[];
  /** Seconds of tolerance on `exp` and `nbf`. */
  clockSkew: number;
  /** Claims copied into upstream request headers. */
  claimsToHeaders?: JwtClaimHeader[];
  tokenFrom: JwtTokenFrom;
  /** The realm of `WWW-Authenticate: Bearer realm="..."` (RFC 6750 §3); "" when not set. */
  realm: string;
}

/** Bounds a table holds per route: a JWK Set of an identity provider has a handful of keys. */
export const MAX_JWT_KEYS = 16;
/** An RSA modulus of 8192 bits is 1366 base64url characters. */
export const MAX_JWK_FIELD = 2048;
export const MAX_JWT_CLOCK_SKEW = 600;
export const MAX_JWT_CLAIM_HEADERS = 16;

/** JWK members that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2): a JWK Set
 * that has one is not a set of public keys, and publishing it would hand the signing key to every reader. */
export const PRIVATE_JWK_MEMBERS: readonly string[] = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** A claim name as claims-to-headers writes it: no `:` or `,` (the list's separators), no space. */
export const JWT_CLAIM_NAME = /^[A-Za-z0-9_$.@/+-]{1,128}$/;
/** A cookie or query parameter name the token may come from. */
export const JWT_TOKEN_PARAM = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
