// Applies spec.tls, oldest Ingress first, to the host entries: which hosts have TLS and with which
// certificate (README, "Ingress semantics").
import type { IngressPlan } from './ingress.ts';
import { precedenceReason, refId } from './objects.ts';
import type { HostBuild, ReportFor, TlsCandidate } from './routes.ts';
import { coversHost, type LoadedCertificate, type SecretLoader } from './tls.ts';

function candidateCert(
  plan: IngressPlan,
  host: string,
  secretName: string | null,
  load: SecretLoader,
  reportFor: ReportFor,
): LoadedCertificate | null {
  if (secretName === null) return null; // TLS without a Secret: the worker's default certificate, by design
  const r = load(plan.ref.namespace, secretName);
  if (!r.ok) {
    reportFor(plan)(r.code, r.message);
    return null;
  }
  if (!coversHost(r.cert, host)) {
    const names = r.cert.info.dnsNames.length > 0 ? r.cert.info.dnsNames.join(', ') : 'none';
    reportFor(plan)(
      'CertificateHostMismatch',
      `the certificate in Secret ${r.cert.info.id} (DNS names: ${names}) does not cover host ${JSON.stringify(host)}; the default certificate is served for it`,
    );
    return null;
  }
  return r.cert;
}

/** Collects each plan's TLS hosts as candidates on the host entries. Only hosts that the same Ingress has
 * rules for are affected (as ingress-nginx does); TLS alone never creates a host entry. */
function collectCandidates(
  plans: readonly IngressPlan[],
  hosts: ReadonlyMap<string, HostBuild>,
  load: SecretLoader,
  reportFor: ReportFor,
): void {
  for (const plan of plans) {
    const report = reportFor(plan);
    const first = new Map<string, { secretName: string | null; where: string }>();
    for (const tls of plan.tls) {
      for (const host of tls.hosts ?? plan.hosts) {
        const h = plan.hosts.includes(host) ? hosts.get(host) : undefined;
        if (h === undefined) {
          report(
            'TLSHostWithoutRule',
            `${tls.where} lists host ${JSON.stringify(host)}, which no rule of this Ingress serves; TLS is not configured for it by this Ingress`,
          );
          continue;
        }
        const prev = first.get(host);
        if (prev !== undefined) {
          if (prev.secretName !== tls.secretName) {
            report(
              'DuplicateRule',
              `${tls.where} gives host ${JSON.stringify(host)} Secret ${JSON.stringify(tls.secretName ?? '')}, but ${prev.where} already gives it ${JSON.stringify(prev.secretName ?? '')}; the first one is used`,
            );
          }
          continue;
        }
        first.set(host, { secretName: tls.secretName, where: tls.where });
        const cert = candidateCert(plan, host, tls.secretName, load, reportFor);
        h.tls.push({ owner: plan, cert });
      }
    }
  }
}

/** The certificate a host gets: the oldest Ingress's usable certificate. A younger Ingress's valid
 * certificate is used when older ones name none or an unusable one (as ingress-nginx does), so a host
 * that has a valid certificate somewhere never falls back to the default one. */
function pickCertificate(h: HostBuild, reportFor: ReportFor): TlsCandidate | null {
  const winner = h.tls.find((c) => c.cert !== null) ?? null;
  if (winner === null || winner.cert === null) return null;
  for (const c of h.tls) {
    if (c === winner || c.cert === null || c.cert.info.id === winner.cert.info.id) continue;
    reportFor(c.owner)(
      'RouteConflict',
      `TLS for host ${JSON.stringify(h.host)}: the certificate in Secret ${c.cert.info.id} is ignored because Ingress ${refId(winner.owner.ref)} gives the host Secret ${winner.cert.info.id} and takes precedence because ${precedenceReason(winner.owner.info, c.owner.info)}`,
    );
  }
  return winner;
}

/** Host → certificate: undefined when the host has no TLS, null when it has TLS with the default
 * certificate. */
export function applyTls(
  plans: readonly IngressPlan[],
  hosts: ReadonlyMap<string, HostBuild>,
  load: SecretLoader,
  reportFor: ReportFor,
): Map<string, LoadedCertificate | null> {
  collectCandidates(plans, hosts, load, reportFor);
  const out = new Map<string, LoadedCertificate | null>();
  for (const h of hosts.values()) {
    if (h.tls.length === 0) continue;
    out.set(h.host, pickCertificate(h, reportFor)?.cert ?? null);
  }
  return out;
}
