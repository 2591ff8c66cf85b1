// proxy-ssl-secret's Secret → the table's `upstreamTlsSecrets` entry (public: `ca.crt`, the client certificate's
// fingerprint) and, when the Secret also has `tls.crt` and `tls.key`, the client certificate's material, which
// travels beside the table with its key encrypted (gateway/table/bundle.ts), never in it.
//
// As ingress-nginx's proxyssl parser: a Secret that cannot be loaded denies the location (503) whatever the backend
// protocol. A usable one only matters with backend-protocol HTTPS or GRPCS; with a cleartext upstream nginx ignores
// proxy_ssl_*, so the route carries no policy and a warning says so.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { type CertificateMaterial, UPSTREAM_CLIENT_SUFFIX, type UpstreamTlsSecret } from '../../gateway/table/schema.ts';
import type { Report } from './diagnostics.ts';
import type { IngressPlan } from './ingress.ts';
import { fields, indexByName, type ObjectInfo } from './objects.ts';
import { PROXY_SSL_CIPHERS, PROXY_SSL_SECRET } from './proxy-ssl-annotations.ts';
import { secretValue } from './tls.ts';

type Loaded =
  | { ok: true; secret: UpstreamTlsSecret; material?: CertificateMaterial }
  | { ok: false; code: 'SecretNotFound' | 'SecretInvalid'; why: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function certificatesOf(pem: string, what: string, id: string): string[] | string {
  const pems = pem.match(PEM_CERT) ?? [];
  if (pems.length === 0) return `Secret ${id}: "${what}" holds no PEM certificate`;
  for (const [i, p] of pems.entries()) {
    try {
      new X509Certificate(p);
    } catch (err) {
      return `Secret ${id}: certificate ${i + 1} of "${what}" does not parse (${(err as Error).message})`;
    }
  }
  return pems;
}

/** `ca.crt` (required), `tls.crt` with `tls.key` (optional, both or neither), checked the way the worker loads them. */
function load(secret: ObjectInfo, id: string): Loaded {
  const s = fields(secret.raw);
  const invalid = (why: string): Loaded => ({ ok: false, code: 'SecretInvalid', why });
  const ca = secretValue(s, 'ca.crt');
  if (ca === null) return invalid(`Secret ${id} has no key "ca.crt" (the certificate authorities the upstream is checked against)`);
  if ('error' in ca) return invalid(`Secret ${id}: ${ca.error}`);
  const cas = certificatesOf(ca.value, 'ca.crt', id);
  if (typeof cas === 'string') return invalid(cas);
  const caPem = `${cas.join('\n')}\n`;
  const crt = secretValue(s, 'tls.crt');
  const key = secretValue(s, 'tls.key');
  if (crt !== null && 'error' in crt) return invalid(`Secret ${id}: ${crt.error}`);
  if (key !== null && 'error' in key) return invalid(`Secret ${id}: ${key.error}`);
  if ((crt === null) !== (key === null))
    return invalid(
      `Secret ${id} has ${crt === null ? '"tls.key" without "tls.crt"' : '"tls.crt" without "tls.key"'} (the client certificate needs both)`,
    );
  if (crt === null || key === null) {
    try {
      createSecureContext({ ca: caPem });
    } catch (err) {
      return invalid(`Secret ${id}: "ca.crt" cannot be loaded (${(err as Error).message})`);
    }
    return { ok: true, secret: { id, caPem } };
  }
  const chain = certificatesOf(crt.value, 'tls.crt', id);
  if (typeof chain === 'string') return invalid(chain);
  const certPem = `${chain.join('\n')}\n`;
  try {
    // Loads the key and checks that it belongs to the certificate (OpenSSL's SSL_CTX_check_private_key).
    createSecureContext({ ca: caPem, cert: certPem, key: key.value });
  } catch (err) {
    return invalid(`Secret ${id}: "tls.crt" and "tls.key" cannot be used as a client certificate (${(err as Error).message})`);
  }
  const clientFingerprint = new X509Certificate(chain[0]!).fingerprint256;
  return {
    ok: true,
    secret: { id, caPem, clientFingerprint },
    material: { id: `${id}${UPSTREAM_CLIENT_SUFFIX}`, certPem, keyPem: key.value },
  };
}

/** Whether OpenSSL accepts the cipher list (it refuses one that matches no suite). */
function ciphersLoad(ciphers: string): boolean {
  try {
    createSecureContext({ ciphers });
    return true;
  } catch {
    return false;
  }
}

export interface ResolvedProxySsl {
  secrets: UpstreamTlsSecret[];
  /** Client certificates, keyed `id + UPSTREAM_CLIENT_SUFFIX`. */
  material: CertificateMaterial[];
}

/** Completes each plan's proxy-ssl request: into `plan.upstream.upstreamTls` when the Secret is usable and the upstream
 * speaks TLS; a Secret that cannot be used closes the Ingress's routes (proxy-ssl-secret becomes a guard). */
export function resolveProxySsl(
  plans: readonly IngressPlan[],
  secrets: readonly unknown[],
  reportFor: (p: IngressPlan) => Report,
): ResolvedProxySsl {
  const index = indexByName(secrets);
  const loaded = new Map<string, Loaded>();
  const used = new Map<string, Extract<Loaded, { ok: true }>>();
  for (const plan of plans) {
    const request = plan.proxySsl;
    if (request === undefined) continue;
    plan.proxySsl = undefined;
    const report = reportFor(plan);
    const id = `${request.secret.namespace}/${request.secret.name}`;
    let l = loaded.get(id);
    if (l === undefined) {
      const secret = index.get(id);
      l =
        secret === undefined
          ? { ok: false, code: 'SecretNotFound', why: `Secret ${id} named by ${JSON.stringify(PROXY_SSL_SECRET)} does not exist` }
          : load(secret, id);
      loaded.set(id, l);
    }
    if (!l.ok) {
      // ingress-nginx: "error obtaining certificate" denies the location.
      report(
        l.code,
        `${l.why}; the routes of this Ingress answer 503 (fail closed) instead of connecting to the upstream without the TLS ${JSON.stringify(PROXY_SSL_SECRET)} asks for`,
      );
      plan.guards.push({ key: PROXY_SSL_SECRET, scope: 'routes' });
      continue;
    }
    const protocol = plan.upstream.backendProtocol;
    if (protocol !== 'HTTPS' && protocol !== 'GRPCS') {
      report(
        'InvalidAnnotation',
        `annotation ${JSON.stringify(PROXY_SSL_SECRET)} has no effect with backend-protocol ${protocol ?? 'HTTP'}: the upstream is not spoken to over TLS (nginx ignores proxy_ssl_* there too)`,
      );
      continue;
    }
    let policy = request.policy;
    if (policy.ciphers !== undefined && !ciphersLoad(policy.ciphers)) {
      report(
        'InvalidAnnotation',
        `annotation ${JSON.stringify(PROXY_SSL_CIPHERS)} has value ${JSON.stringify(policy.ciphers)}: OpenSSL finds no cipher suite in it, so DEFAULT applies (as in ingress-nginx)`,
      );
      const { ciphers: _dropped, ...rest } = policy;
      policy = rest;
    }
    used.set(id, l);
    plan.upstream = { ...plan.upstream, upstreamTls: { secret: id, ...policy } };
  }
  const all = [...used.values()];
  return {
    secrets: all.map((l) => l.secret),
    material: all.flatMap((l) => (l.material === undefined ? [] : [l.material])),
  };
}
