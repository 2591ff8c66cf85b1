// Objects for end-to-end tests whose endpoints are real backends on loopback addresses: the builders of
// builders.ts, shaped the way these tests use them (a Service per backend set, an Ingress per host).
import type { EndpointSlice, Ingress, IngressClass, Secret, Service } from '../../sync/compile/types.ts';
import { backend, cls, rule, secret, slice, svc, type AnyObject } from './builders.ts';

export { objects } from './builders.ts';

/** Our IngressClass; the default class unless `isDefault` is false, so Ingresses without a class are ours. */
export const ourClass = (name = 'portico', isDefault = true): IngressClass => cls(name, { isDefault });

export interface EndpointSpec {
  address: string;
  port: number;
  ready?: boolean;
}

/** A Service named `name` (port 80, name `http`) and one EndpointSlice listing `endpoints`. */
export function service(name: string, endpoints: EndpointSpec[], namespace = 'default'): [Service, EndpointSlice] {
  const ports = [...new Set(endpoints.map((e) => e.port))];
  // Endpoints on different ports need one slice per port; the tests use one port per service unless several backends.
  if (ports.length > 1) throw new Error('test helper: one port per service; put backends on the same port with different addresses');
  return [
    svc(name, { namespace, ports: [{ name: 'http', port: 80, targetPort: 'http' }] }),
    slice(
      name,
      endpoints.map((e) => ({ ip: e.address, ready: e.ready ?? true })),
      { namespace, name: `${name}-abc`, ports: [{ name: 'http', port: ports[0] ?? 1 }] },
    ),
  ];
}

export interface PathSpec {
  path: string;
  pathType?: 'Exact' | 'Prefix' | 'ImplementationSpecific';
  service: string;
}

/** An Ingress for one host (or none) with `paths` to Services on port 80; no ingressClassName (the default
 * class takes it). */
export function ingress(
  name: string,
  o: {
    host?: string;
    paths?: PathSpec[];
    tls?: { hosts: string[]; secretName: string }[];
    annotations?: Record<string, string>;
    defaultBackend?: string;
    created?: string;
    namespace?: string;
  },
): Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      namespace: o.namespace ?? 'default',
      name,
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      annotations: o.annotations ?? {},
    },
    spec: {
      ...(o.defaultBackend ? { defaultBackend: backend(o.defaultBackend, 'http') } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      rules: o.paths
        ? [rule(o.host, ...o.paths.map((p) => ({ path: p.path, pathType: p.pathType ?? 'Prefix', backend: backend(p.service, 80) })))]
        : [],
    },
  };
}

/** A kubernetes.io/tls Secret, base64 in `data` as the API serves it. */
export function tlsSecret(name: string, certPem: string, keyPem: string, namespace = 'default'): Secret {
  return secret(name, { certPem, keyPem }, { namespace });
}

export type { AnyObject };
