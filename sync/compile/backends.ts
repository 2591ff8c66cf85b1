// Backend resolution: Ingress backend reference → Service port → EndpointSlice port → ready endpoints
// (README, "Ingress semantics"). A reference that cannot be resolved still yields a backend, with no endpoints,
// so its routes answer 503 as ingress-nginx does, and a problem for the referencing Ingress.
import { isIP } from 'node:net';
import type { Backend, Endpoint } from '../../gateway/table/schema.ts';
import type { BackendRef } from './ingress.ts';
import { errorText, fields, items, show, sortedByName, text, type Fields, type ObjectInfo } from './objects.ts';
import type { DiagnosticCode } from './types.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface BackendProblem {
  code: DiagnosticCode;
  message: string;
}

export interface Resolution {
  backend: Backend;
  /** Why the backend has no endpoints because of the Service or the reference; null when it resolved. */
  problem: BackendProblem | null;
}

export type BackendResolver = (ref: BackendRef) => Resolution;

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

function describePorts(ports: readonly Fields[]): string {
  if (ports.length === 0) return 'it has no ports';
  return `it has ${ports.map((p) => (typeof p.name === 'string' && p.name !== '' ? `${String(p.port)} (${JSON.stringify(p.name)})` : String(p.port))).join(', ')}`;
}

/** Ready endpoints of the slices for one Service port, deduplicated by address and port, and how many
 * others exist but are not ready (never routed to; shown by inspection as ready/total). */
function endpointsFor(slices: readonly ObjectInfo[], portName: string): { ready: Endpoint[]; notReady: number } {
  const out = new Map<string, Endpoint>();
  const notReady = new Set<string>();
  for (const s of slices) {
    const slice = fields(s.raw);
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue; // FQDN slices are not routable addresses
    const port = items(slice.ports)
      .map(fields)
      .find((p) => (text(p.name) ?? '') === portName);
    if (port === undefined || !isPort(port.port)) continue;
    const family = slice.addressType === 'IPv4' ? 4 : 6;
    for (const e of items(slice.endpoints)) {
      const ep = fields(e);
      const address = text(items(ep.addresses)[0]);
      if (address === undefined || isIP(address) !== family) continue;
      const key = `${address} ${port.port}`;
      if (fields(ep.conditions).ready === false)
        notReady.add(key); // nil means ready (EndpointConditions API docs)
      else if (!out.has(key)) out.set(key, { address, port: port.port, zone: text(ep.zone) ?? null });
    }
  }
  for (const key of out.keys()) notReady.delete(key); // ready in one slice, not in another: it is ready
  return { ready: [...out.values()], notReady: notReady.size };
}

function resolveService(
  ref: BackendRef,
  services: ReadonlyMap<string, ObjectInfo>,
  slicesByService: ReadonlyMap<string, ObjectInfo[]>,
): Resolution {
  const backend: Backend = {
    id: ref.id,
    service: { namespace: ref.namespace, name: ref.service, port: ref.port },
    endpoints: [],
    notReady: 0,
    ...(ref.serviceUpstream === true ? { serviceUpstream: true as const } : {}),
  };
  const key = `${ref.namespace}/${ref.service}`;
  const svc = services.get(key);
  if (svc === undefined) {
    return {
      backend,
      problem: {
        code: 'ServiceNotFound',
        message: `Service ${JSON.stringify(ref.service)} not found in namespace ${JSON.stringify(ref.namespace)}; backend ${ref.id} has no endpoints and answers 503`,
      },
    };
  }
  const spec = fields(fields(svc.raw).spec);
  if (spec.type === 'ExternalName') {
    return {
      backend,
      problem: {
        code: 'ServiceTypeUnsupported',
        message: `Service ${key} is of type ExternalName (${JSON.stringify(text(spec.externalName) ?? '')}), which Portico does not route to; backend ${ref.id} answers 503`,
      },
    };
  }
  const ports = items(spec.ports).map(fields);
  const port = typeof ref.port === 'number' ? ports.find((p) => p.port === ref.port) : ports.find((p) => p.name === ref.port);
  if (port === undefined) {
    const which = typeof ref.port === 'number' ? `port ${ref.port}` : `port named ${JSON.stringify(ref.port)}`;
    return {
      backend,
      problem: {
        code: 'ServicePortNotFound',
        message: `Service ${key} has no ${which} (${describePorts(ports)}); backend ${ref.id} answers 503`,
      },
    };
  }
  if (ref.serviceUpstream === true) {
    // service-upstream: one endpoint, the ClusterIP and the Service port (ingress-nginx's
    // getServiceClusterEndpoint); kube-proxy picks the pod. A Service without a ClusterIP (headless) falls back to
    // its endpoints, as ingress-nginx does, with a diagnostic.
    const ip = text(spec.clusterIP);
    if (ip !== undefined && isIP(ip) !== 0 && isPort(port.port)) {
      backend.endpoints = [{ address: ip, port: port.port, zone: null }];
      return { backend, problem: null };
    }
    const found = endpointsFor(slicesByService.get(key) ?? [], text(port.name) ?? '');
    backend.endpoints = found.ready;
    backend.notReady = found.notReady;
    return {
      backend,
      problem: {
        code: 'InvalidAnnotation',
        message: `Service ${key} has no ClusterIP (${show(spec.clusterIP)}), so service-upstream cannot use it; backend ${ref.id} routes to its endpoints instead`,
      },
    };
  }
  const found = endpointsFor(slicesByService.get(key) ?? [], text(port.name) ?? '');
  backend.endpoints = found.ready;
  backend.notReady = found.notReady;
  return { backend, problem: null };
}

/** A memoised resolver over one snapshot of Services and EndpointSlices. */
export function backendResolver(services: readonly unknown[], endpointSlices: readonly unknown[]): BackendResolver {
  const svcIndex = new Map<string, ObjectInfo>();
  for (const s of sortedByName(services)) {
    if (s.namespace === undefined || s.name === undefined) continue;
    const key = `${s.namespace}/${s.name}`;
    if (!svcIndex.has(key)) svcIndex.set(key, s);
  }
  const sliceIndex = new Map<string, ObjectInfo[]>();
  for (const s of sortedByName(endpointSlices)) {
    const svc = text(s.labels[SERVICE_NAME_LABEL]);
    if (s.namespace === undefined || svc === undefined || svc === '') continue;
    const key = `${s.namespace}/${svc}`;
    const list = sliceIndex.get(key);
    if (list === undefined) sliceIndex.set(key, [s]);
    else list.push(s);
  }
  const memo = new Map<string, Resolution>();
  return (ref) => {
    let r = memo.get(ref.id);
    if (r === undefined) {
      try {
        r = resolveService(ref, svcIndex, sliceIndex);
      } catch (e) {
        // Unreachable with the defensive readers above; kept so a malformed Service can never fail the table.
        const backend: Backend = {
          id: ref.id,
          service: { namespace: ref.namespace, name: ref.service, port: ref.port },
          endpoints: [],
          notReady: 0,
          ...(ref.serviceUpstream === true ? { serviceUpstream: true as const } : {}),
        };
        r = {
          backend,
          problem: {
            code: 'InvalidObject',
            message: `Service ${ref.namespace}/${ref.service} could not be read (${errorText(e)}); backend ${ref.id} answers 503`,
          },
        };
      }
      memo.set(ref.id, r);
    }
    return r;
  };
}
