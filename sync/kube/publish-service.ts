// --publish-service NAMESPACE/NAME: the addresses Ingress status takes from a Service, as ingress-nginx's
// statusAddressFromService (internal/ingress/status/status.go) reads them: LoadBalancer → its
// status.loadBalancer.ingress (IP, else host name) plus spec.externalIPs; NodePort → spec.externalIPs, else the
// cluster IP; ClusterIP → the cluster IP; ExternalName → the external name. The agent already watches every
// Service, and a status change of this one counts as a change (watch.ts), so the addresses follow it live.
import type { Service } from '../compile/types.ts';

export interface ServiceRef {
  namespace: string;
  name: string;
}

interface ServiceShape {
  metadata?: { namespace?: string; name?: string };
  spec?: { type?: string; clusterIP?: string; externalIPs?: string[]; externalName?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

/** The Service's addresses; null when it does not exist (status is then left alone). */
export function publishServiceAddresses(services: readonly Service[], ref: ServiceRef): string[] | null {
  const svc = (services as readonly ServiceShape[]).find((s) => s.metadata?.namespace === ref.namespace && s.metadata?.name === ref.name);
  if (svc === undefined) return null;
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  const cluster = spec.clusterIP && spec.clusterIP !== 'None' ? [spec.clusterIP] : [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ExternalName':
      return spec.externalName ? [spec.externalName] : [];
    case 'NodePort':
      return external.length > 0 ? [...external] : cluster;
    case 'LoadBalancer':
      return [...(svc.status?.loadBalancer?.ingress ?? []).map((x) => x.ip || x.hostname || '').filter((a) => a !== ''), ...external];
    default:
      return cluster;
  }
}
