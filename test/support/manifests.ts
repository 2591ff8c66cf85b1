// Kubernetes objects for end-to-end tests whose endpoints are real backends on loopback addresses.
import type { ClusterObjects, EndpointSlice, Ingress, IngressClass, Secret, Service } from '../../sync/compile/types.ts';

export const ourClass = (name = 'portico', isDefault = true): IngressClass => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass',
  metadata: { name, annotations: isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : {} },
  spec: { controller: 'portico.dev/ingress-controller' },
});

export interface EndpointSpec { address: string; port: number; ready?: boolean }

/** A Service named `name` (port 80, name `http`) and one EndpointSlice listing `endpoints`. */
export function service(name: string, endpoints: EndpointSpec[], namespace = 'default'): [Service, EndpointSlice] {
  const ports = [...new Set(endpoints.map((e) => e.port))];
  // Endpoints on different ports need one slice per port; the tests use one port per service unless several backends.
  const svc: Service = { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { ports: [{ name: 'http', port: 80, targetPort: 'http' }] } };
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace, name: `${name}-abc`, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({ addresses: [e.address], conditions: { ready: e.ready ?? true } })),
    ports: [{ name: 'http', port: ports[0] ?? 1, protocol: 'TCP' }],
  };
  if (ports.length > 1) throw new Error('test helper: one port per service; put backends on the same port with different addresses');
  return [svc, slice];
}

export interface PathSpec { path: string; pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific'; service: string }

export function ingress(name: string, o: { host?: string; paths?: PathSpec[]; tls?: { hosts: string[]; secretName: string }[]; annotations?: Record<string, string>; defaultBackend?: string; created?: string; namespace?: string }): Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
    metadata: { namespace: o.namespace ?? 'default', name, creationTimestamp: o.created ?? '2026-01-01T00:00:00Z', annotations: o.annotations ?? {} },
    spec: {
      ...(o.defaultBackend ? { defaultBackend: { service: { name: o.defaultBackend, port: { name: 'http' } } } } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      rules: o.paths ? [{ ...(o.host ? { host: o.host } : {}), http: { paths: o.paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: { service: { name: p.service, port: { number: 80 } } } })) } }] : [],
    },
  };
}

export function tlsSecret(name: string, certPem: string, keyPem: string, namespace = 'default'): Secret {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { namespace, name },
    data: { 'tls.crt': Buffer.from(certPem).toString('base64'), 'tls.key': Buffer.from(keyPem).toString('base64') },
  };
}

type AnyObject = Ingress | IngressClass | Service | EndpointSlice | Secret;

export function objects(...items: (AnyObject | AnyObject[])[]): ClusterObjects {
  const out: ClusterObjects = { ingresses: [], ingressClasses: [], services: [], endpointSlices: [], secrets: [] };
  for (const o of items.flat()) {
    if (o.kind === 'Ingress') out.ingresses.push(o);
    else if (o.kind === 'IngressClass') out.ingressClasses.push(o);
    else if (o.kind === 'Service') out.services.push(o);
    else if (o.kind === 'EndpointSlice') out.endpointSlices.push(o);
    else if (o.kind === 'Secret') out.secrets.push(o);
  }
  return out;
}
