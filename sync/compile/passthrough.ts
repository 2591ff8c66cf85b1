// Which hosts are ssl-passthrough hosts and which backend gets their TLS streams, as ingress-nginx decides it
// (internal/ingress/controller/controller.go):
// - createServers: a server's SSLPassthrough comes from the Ingress that created it, the oldest with a rule for the
//   host (Ingresses sorted by creation time); ssl-passthrough on a younger Ingress of the same host changes nothing;
// - buildPassthroughBackends: the backend is the server's root location's ("/"), every other path is ignored
//   ("Ignoring SSL Passthrough for location"); with no "/" path the root location is the Ingress's
//   spec.defaultBackend, else the controller's default backend.
// Portico takes the host's "/" route (Prefix, else Exact, else a Regex "/"), else the host's fallback backend
// (spec.defaultBackend). Without either it does not relay to the table's default backend (an HTTP server that cannot
// answer a ClientHello): the host's TLS connections are closed, with a PassthroughWithoutBackend warning.
import type { BackendRef, IngressPlan } from './ingress.ts';
import { refId } from './objects.ts';
import type { HostBuild, ReportFor } from './routes.ts';

/** The passthrough hosts and their backend (null: none, the connections are closed). */
export function passthroughHosts(
  mains: readonly IngressPlan[],
  hosts: ReadonlyMap<string, HostBuild>,
  reportFor: ReportFor,
): Map<string, { backend: BackendRef | null }> {
  const owners = new Map<string, IngressPlan>();
  for (const plan of mains) for (const host of plan.hosts) if (!owners.has(host)) owners.set(host, plan);
  const out = new Map<string, { backend: BackendRef | null }>();
  for (const plan of mains) {
    if (!plan.sslPassthrough) continue;
    for (const host of plan.hosts) {
      if (host === '') {
        reportFor(plan)(
          'PassthroughIgnored',
          'ssl-passthrough does not apply to the rules without a host: a connection is relayed by the server name its ClientHello sends',
        );
        continue;
      }
      const owner = owners.get(host)!;
      if (owner !== plan) {
        if (!owner.sslPassthrough)
          reportFor(plan)(
            'PassthroughIgnored',
            `ssl-passthrough is ignored for host ${JSON.stringify(host)}: the older Ingress ${refId(owner.ref)} decides how its TLS is served and does not ask for passthrough (as in ingress-nginx)`,
          );
        continue;
      }
      const h = hosts.get(host);
      const backend = h === undefined ? null : rootBackend(h);
      if (backend === null)
        reportFor(plan)(
          'PassthroughWithoutBackend',
          `ssl-passthrough host ${JSON.stringify(host)} has no "/" path and no spec.defaultBackend: there is no backend to relay its TLS connections to, so they are closed`,
        );
      out.set(host, { backend });
    }
  }
  return out;
}

function rootBackend(h: HostBuild): BackendRef | null {
  const claim = h.routes.get('Prefix ') ?? h.routes.get('Exact /') ?? h.routes.get('Regex /');
  return claim?.path.backend ?? h.fallback;
}
