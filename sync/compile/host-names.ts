// Names a host answers to besides its rules' hosts: server-alias (more names served exactly like the host) and
// from-to-www-redirect (the other name, www. added or removed, redirects to it with 308). Both are per server in
// ingress-nginx (nginx.tmpl: `server_name <host> <aliases>`, and a server of its own for the www name), so an
// entry here copies or points at the whole host, every Ingress's routes on it. A name that a rule already serves,
// or that an older Ingress already took, is ignored with a Warning (annotations.md, server-alias: "If a server-alias
// is created and later a new server with the same name is created, the new server configuration will take place
// over the alias configuration"; controller.go skips the www server when an Ingress has that host).
import type { CertificateInfo, HostRoutes } from '../../gateway/table/schema.ts';
import type { Report } from './diagnostics.ts';
import type { IngressPlan } from './ingress.ts';
import { refId } from './objects.ts';

/** Whether a certificate's DNS names cover `host` (an exact name, or a one-label wildcard). */
function covers(info: CertificateInfo | undefined, host: string): boolean {
  if (info === undefined) return false;
  const parent = host.slice(host.indexOf('.') + 1);
  return info.dnsNames.some((n) => n.toLowerCase() === host || n.toLowerCase() === `*.${parent}`);
}

/** The www. counterpart of a host: `www.foo.com` ↔ `foo.com`; null for wildcards and names without one. */
export function wwwCounterpart(host: string): string | null {
  if (host === '' || host.startsWith('*.')) return null;
  if (host.startsWith('www.')) return host.slice(4).includes('.') ? host.slice(4) : null;
  return `www.${host}`;
}

/** Extra host entries for aliases and www redirects, oldest Ingress first. `built` are the rule hosts' entries. */
export function extraHostNames(
  plans: readonly IngressPlan[],
  built: ReadonlyMap<string, HostRoutes>,
  certificate: (id: string) => CertificateInfo | undefined,
  reportFor: (p: IngressPlan) => Report,
): HostRoutes[] {
  const out: HostRoutes[] = [];
  const owner = new Map<string, string>(); // name → what took it, for messages
  for (const name of built.keys()) owner.set(name, 'a rule');
  const claim = (plan: IngressPlan, name: string, what: string): boolean => {
    const by = owner.get(name);
    if (by === undefined) {
      owner.set(name, `${what} of Ingress ${refId(plan.ref)}`);
      return true;
    }
    reportFor(plan)('HostNameConflict', `${what} ${JSON.stringify(name)} is ignored: ${by} already serves that name`);
    return false;
  };
  for (const plan of plans) {
    const { aliases, fromToWww } = plan.routing;
    for (const host of plan.hosts) {
      const entry = built.get(host);
      if (host === '' || entry === undefined) continue;
      // ssl-passthrough stays on the host itself: ingress-nginx's TCP proxy compares the SNI with the server's
      // hostname only (pkg/tcpproxy TCPProxy.Get), so an alias's TLS is terminated.
      const { passthrough: _, ...served } = entry;
      for (const alias of aliases) if (alias !== host && claim(plan, alias, 'server-alias')) out.push({ ...served, host: alias });
      const other = fromToWww ? wwwCounterpart(host) : null;
      if (other === null || !claim(plan, other, 'the from-to-www-redirect name')) continue;
      // HTTPS to the other name uses the host's certificate when it covers that name (the e2e test lists both
      // names in spec.tls), else the default certificate, as nginx's redirect server does.
      const cert = entry.tls?.certificate ?? null;
      out.push({
        host: other,
        tls: entry.tls === null ? null : { certificate: cert !== null && covers(certificate(cert), other) ? cert : null },
        routes: [],
        fallbackBackend: null,
        redirect: { statusCode: 308, hostname: host },
      });
    }
  }
  return out;
}
