// The public keys of every JWT policy, from where portico.dev/auth-jwt-jwks-{configmap,secret,url} says: a
// ConfigMap's or Secret's key `jwks.json` (read by name by the agent) or the body the agent last fetched from a
// URL. The keys go INSIDE the table (they are public), so a rotation is a new table version. A source that cannot
// be had, or holds no usable key, turns the policy into a guard: the routes answer 503 with a JwksUnavailable
// Warning (fail closed), never open.
import type { JwtPolicy, JwtPublicKey } from '../../gateway/table/jwt.ts';
import { MAX_JWT_KEYS } from '../../gateway/table/jwt.ts';
import { isRecord } from '../../gateway/table/names.ts';
import { publicJwkProblem } from '../../gateway/table/validate-jwt.ts';
import type { Report } from './diagnostics.ts';
import type { IngressPlan } from './ingress.ts';
import { JWKS_KEY, JWT_ANNOTATIONS, jwksSource } from './jwt-annotations.ts';
import { fields, indexByName, type ObjectInfo } from './objects.ts';
import type { ReportFor } from './routes.ts';
import { secretValue } from './tls.ts';
import type { JwksDocument } from './types.ts';

/** A JWK Set document larger than this is refused (the agent's fetcher stops reading at the same size). */
export const MAX_JWKS_BYTES = 64 * 1024;

type Keys = { keys: JwtPublicKey[]; skipped: string[] } | { error: string };

/** Only the members verification needs, in a fixed set (x5c, key_ops and the like are dropped). */
function publicMembers(k: Record<string, unknown>): JwtPublicKey {
  const pick = (names: readonly string[]): Record<string, unknown> =>
    Object.fromEntries(names.filter((n) => k[n] !== undefined).map((n) => [n, k[n]]));
  const common = pick(['kid', 'alg', 'use']);
  switch (k.kty) {
    case 'RSA':
      return { kty: 'RSA', ...pick(['n', 'e']), ...common } as JwtPublicKey;
    case 'EC':
      return { kty: 'EC', ...pick(['crv', 'x', 'y']), ...common } as JwtPublicKey;
    default:
      return { kty: 'OKP', ...pick(['crv', 'x']), ...common } as JwtPublicKey;
  }
}

/** A JWK Set (RFC 7517 §5) → its usable public keys. A key Portico cannot verify with (a symmetric `oct` key, an
 * unknown type or curve, a key for encryption) is skipped and reported; a key with private members refuses the whole
 * set: it is not a public key set, and publishing it would hand the signing key to every reader of the table. */
export function parseJwks(text: string): Keys {
  if (text.length > MAX_JWKS_BYTES) return { error: `it is larger than ${MAX_JWKS_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { error: 'it is not JSON' };
  }
  if (!isRecord(doc) || !Array.isArray(doc.keys)) return { error: 'it is not a JWK Set (an object with a "keys" list)' };
  const keys: JwtPublicKey[] = [];
  const skipped: string[] = [];
  for (const [i, k] of doc.keys.entries()) {
    const problem = publicJwkProblem(k);
    if (problem === null) {
      keys.push(publicMembers(k as Record<string, unknown>));
      continue;
    }
    if (problem.startsWith('has private key members')) return { error: `key ${i + 1} ${problem}: this is not a set of public keys` };
    skipped.push(`key ${i + 1} ${problem}`);
  }
  if (keys.length === 0) return { error: `it has no key Portico can verify with${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}` };
  if (keys.length > MAX_JWT_KEYS) return { error: `it has ${keys.length} usable keys (at most ${MAX_JWT_KEYS})` };
  return { keys, skipped };
}

/** A ConfigMap's `jwks.json`: `data`, else `binaryData` (base64). */
function configMapValue(cm: ObjectInfo): string | null {
  const c = fields(cm.raw);
  const text = fields(c.data)[JWKS_KEY];
  if (typeof text === 'string') return text;
  const bin = fields(c.binaryData)[JWKS_KEY];
  return typeof bin === 'string' ? Buffer.from(bin, 'base64').toString('utf8') : null;
}

export interface JwtInputs {
  secrets: readonly unknown[];
  configMaps: readonly unknown[];
  jwks: readonly unknown[];
}

/**
 * Completes every plan's JWT policy with its keys and the `kind:namespace/name` (or `url:...`) of its source. A plan
 * whose keys cannot be had loses the policy and gets the source annotation as a guard instead, so its routes
 * answer 503.
 */
export function resolveJwt(plans: readonly IngressPlan[], inputs: JwtInputs, reportFor: ReportFor): void {
  const secrets = indexByName(inputs.secrets);
  const configMaps = indexByName(inputs.configMaps);
  const documents = new Map<string, JwksDocument>();
  for (const d of inputs.jwks) {
    if (!isRecord(d) || typeof d.url !== 'string' || documents.has(d.url)) continue;
    documents.set(d.url, {
      url: d.url,
      ...(typeof d.body === 'string' ? { body: d.body } : {}),
      ...(typeof d.error === 'string' ? { error: d.error } : {}),
    });
  }
  for (const plan of plans) {
    const policy = plan.access?.jwt;
    if (policy === undefined) continue;
    const report: Report = reportFor(plan);
    const colon = policy.source.indexOf(':');
    const kind = policy.source.slice(0, colon);
    const sourceKey = kind === 'url' ? JWT_ANNOTATIONS.url : kind === 'secret' ? JWT_ANNOTATIONS.secret : JWT_ANNOTATIONS.configMap;
    const closed = (why: string): void => {
      report('JwksUnavailable', `${why}; the routes of this Ingress answer 503 (fail closed) instead of serving without JWT verification`);
      const { jwt: _, ...rest } = plan.access!;
      // `satisfy: any` means nothing without an authentication to choose.
      if (rest.basicAuth === undefined && rest.externalAuth === undefined) delete rest.satisfy;
      const left = Object.keys(rest).length > 0;
      plan.access = left ? rest : undefined;
      plan.guards.push({ key: sourceKey, scope: 'routes' });
    };
    const source = jwksSource(sourceKey, policy.source.slice(colon + 1));
    if ('error' in source) continue; // parseJwt kept only sources that parse
    let text: string;
    let resolved: string;
    if (source.kind === 'url') {
      resolved = policy.source;
      const doc = documents.get(source.url);
      if (doc === undefined || typeof doc.body !== 'string') {
        closed(
          `the JWK Set at ${source.url} ${doc?.error === undefined ? 'has not been fetched yet' : `could not be fetched (${doc.error})`}`,
        );
        continue;
      }
      text = doc.body;
    } else {
      const ns = source.namespace ?? plan.ref.namespace;
      const what = source.kind === 'secret' ? 'Secret' : 'ConfigMap';
      const id = `${ns}/${source.name}`;
      resolved = `${source.kind}:${id}`;
      if (ns !== plan.ref.namespace) {
        // As basic authentication's auth-secret (and ingress-nginx's default allow-cross-namespace-resources: false).
        closed(`${JSON.stringify(sourceKey)} names ${what} ${id} of another namespace, which is not allowed`);
        continue;
      }
      const obj = (source.kind === 'secret' ? secrets : configMaps).get(id);
      if (obj === undefined) {
        closed(`${what} ${id} named by ${JSON.stringify(sourceKey)} does not exist`);
        continue;
      }
      const v = source.kind === 'secret' ? secretValue(fields(obj.raw), JWKS_KEY) : configMapValue(obj);
      if (v === null || (typeof v !== 'string' && 'error' in v)) {
        closed(`${what} ${id} has no usable key ${JSON.stringify(JWKS_KEY)}`);
        continue;
      }
      text = typeof v === 'string' ? v : v.value;
    }
    const where = resolved.replace(/^(configmap|secret):/, (_m, k: string) => (k === 'secret' ? 'Secret ' : 'ConfigMap '));
    const keys = parseJwks(text);
    if ('error' in keys) {
      closed(`the JWK Set of ${where.replace(/^url:/, '')} cannot be used: ${keys.error}`);
      continue;
    }
    for (const s of keys.skipped) report('JwksUnavailable', `the JWK Set of ${where.replace(/^url:/, '')}: ${s}; it is skipped`);
    const complete: JwtPolicy = { ...policy, source: resolved, keys: keys.keys };
    plan.access = { ...plan.access, jwt: complete };
  }
}
