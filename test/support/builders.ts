// The test builder library: tiny constructors for Kubernetes objects (Contour-style): every field defaults to the boring value, so a
// case only spells out what it is about.
import type {
  ClusterObjects,
  ConfigMap,
  EndpointSlice,
  HTTPIngressPath,
  Ingress,
  IngressBackend,
  IngressClass,
  IngressRule,
  IngressTLS,
  Secret,
  Service,
  ServicePort,
} from '../../sync/compile/types.ts';
import type { TestCert } from '../compile/certs.ts';

export const NS = 'default';
export const CONTROLLER = 'portico.dev/ingress-controller';

/** A creation timestamp `minutes` after a fixed instant (Ingress age decides conflicts). */
export function at(minutes: number): string {
  return new Date(Date.UTC(2024, 0, 1, 0, minutes)).toISOString().replace('.000Z', 'Z');
}

export function cls(name = 'portico', o: { controller?: string; isDefault?: boolean } = {}): IngressClass {
  const annotations = o.isDefault === true ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : undefined;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { controller: o.controller ?? CONTROLLER },
  };
}

export function backend(service: string, port: number | string = 80): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function prefix(path: string | undefined, service: string, port: number | string = 80): HTTPIngressPath {
  return { ...(path === undefined ? {} : { path }), pathType: 'Prefix', backend: backend(service, port) };
}

export function exact(path: string, service: string, port: number | string = 80): HTTPIngressPath {
  return { path, pathType: 'Exact', backend: backend(service, port) };
}

export function implSpecific(path: string, service: string, port: number | string = 80): HTTPIngressPath {
  return { path, pathType: 'ImplementationSpecific', backend: backend(service, port) };
}

/** A rule; host undefined → a rule without host. */
export function rule(host: string | undefined, ...paths: HTTPIngressPath[]): IngressRule {
  return { ...(host === undefined ? {} : { host }), http: { paths } };
}

export function tls(secretName: string | undefined, ...hosts: string[]): IngressTLS {
  return { ...(secretName === undefined ? {} : { secretName }), ...(hosts.length > 0 ? { hosts } : {}) };
}

export interface IngressOptions {
  namespace?: string;
  /** spec.ingressClassName; default 'portico'; null → not set. */
  className?: string | null;
  annotations?: Record<string, string>;
  /** Minutes after the fixed instant; null → no creationTimestamp. Default 0. */
  created?: number | null;
  rules?: IngressRule[];
  defaultBackend?: IngressBackend;
  tls?: IngressTLS[];
}

export function ingress(name: string, o: IngressOptions = {}): Ingress {
  const created = o.created === undefined ? 0 : o.created;
  const spec: NonNullable<Ingress['spec']> = {};
  if (o.className !== null) spec.ingressClassName = o.className ?? 'portico';
  if (o.defaultBackend !== undefined) spec.defaultBackend = o.defaultBackend;
  if (o.tls !== undefined) spec.tls = o.tls;
  if (o.rules !== undefined) spec.rules = o.rules;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      namespace: o.namespace ?? NS,
      name,
      ...(created === null ? {} : { creationTimestamp: at(created) }),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec,
  };
}

/** A Service; ports as numbers (unnamed) or full ServicePorts. Default: one port 80 named "http". */
export function svc(
  name: string,
  o: { namespace?: string; ports?: (number | ServicePort)[]; type?: string; externalName?: string; clusterIP?: string } = {},
): Service {
  const ports = (o.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) =>
    typeof p === 'number' ? { port: p, targetPort: p } : p,
  );
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: o.namespace ?? NS, name },
    spec: {
      ...(o.type ? { type: o.type } : {}),
      ...(o.externalName ? { externalName: o.externalName } : {}),
      ...(o.clusterIP ? { clusterIP: o.clusterIP } : {}),
      ports,
    },
  };
}

export interface EndpointSpec {
  ip: string;
  /** undefined → no `ready` field at all; null → `ready: null`. */
  ready?: boolean | null;
  zone?: string;
  /** Extra addresses after the first (the compiler uses addresses[0]). */
  more?: string[];
}

/** An EndpointSlice for a Service. Default: IPv4, one port named "http" on 8080. */
export function slice(
  service: string,
  endpoints: (string | EndpointSpec)[],
  o: { namespace?: string; name?: string; addressType?: string; ports?: { name?: string; port?: number }[] } = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: o.namespace ?? NS, name: o.name ?? `${service}-abcde`, labels: { 'kubernetes.io/service-name': service } },
    addressType: o.addressType ?? 'IPv4',
    ports: o.ports ?? [{ name: 'http', port: 8080 }],
    endpoints: endpoints.map((e) => {
      const spec = typeof e === 'string' ? { ip: e } : e;
      return {
        addresses: [spec.ip, ...(spec.more ?? [])],
        ...(spec.ready === undefined ? {} : { conditions: { ready: spec.ready } }),
        ...(spec.zone === undefined ? {} : { zone: spec.zone }),
      };
    }),
  };
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A kubernetes.io/tls Secret holding a test certificate, base64 in `data` (as the API serves it) unless
 * `encoding: 'stringData'`. */
export function secret(
  name: string,
  cert: TestCert | { certPem?: string; keyPem?: string },
  o: { namespace?: string; type?: string; encoding?: 'data' | 'stringData' } = {},
): Secret {
  const values: Record<string, string> = {};
  if (cert.certPem !== undefined) values['tls.crt'] = cert.certPem;
  if (cert.keyPem !== undefined) values['tls.key'] = cert.keyPem;
  const payload =
    o.encoding === 'stringData'
      ? { stringData: values }
      : { data: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, b64(v)])) };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: o.namespace ?? NS, name },
    type: o.type ?? 'kubernetes.io/tls',
    ...payload,
  };
}

/** A ConfigMap with `data` (text values). */
export function configMap(name: string, data: Record<string, string>, namespace = NS): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data };
}

export type AnyObject = Ingress | IngressClass | Service | EndpointSlice | Secret | ConfigMap;

/** Sorts objects (or groups of them, such as a Service with its EndpointSlice) into ClusterObjects by kind,
 * keeping their order. */
export function objects(...list: (AnyObject | readonly AnyObject[])[]): ClusterObjects {
  const out: ClusterObjects & { configMaps: ConfigMap[] } = {
    ingresses: [],
    ingressClasses: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    configMaps: [],
  };
  for (const o of list.flat()) {
    switch (o.kind) {
      case 'Ingress':
        out.ingresses.push(o);
        break;
      case 'IngressClass':
        out.ingressClasses.push(o);
        break;
      case 'Service':
        out.services.push(o);
        break;
      case 'EndpointSlice':
        out.endpointSlices.push(o);
        break;
      case 'Secret':
        out.secrets.push(o);
        break;
      case 'ConfigMap':
        out.configMaps.push(o);
        break;
      default:
        throw new Error(`builder object without kind: ${JSON.stringify(o)}`);
    }
  }
  return out;
}

/** The Service and a ready EndpointSlice for a backend named `name` (port 80 "http" → 8080). */
export function app(name: string, ips: string[] = ['10.0.0.1'], namespace = NS): AnyObject[] {
  return [svc(name, { namespace }), slice(name, ips, { namespace })];
}
