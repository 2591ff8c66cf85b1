// The cheap path for endpoint churn: when only EndpointSlices changed, the routes, hosts, TLS and
// conflicts of the previous result still hold; only each backend's ready endpoints are resolved again.
// Same output as a full compile of the same objects (a test checks that), at a fraction of the cost.
import { sealTable } from '../../gateway/table/canonical.ts';
import { backendResolver } from './backends.ts';
import { finishDiagnostics, noReadyEndpoints } from './diagnostics.ts';
import type { BackendRef } from './ingress.ts';
import { items } from './objects.ts';
import type { ClusterObjects, CompileResult } from './types.ts';

export function refreshEndpoints(prev: CompileResult, objects: Pick<ClusterObjects, 'services' | 'endpointSlices'>): CompileResult {
  const resolve = backendResolver(items(objects.services), items(objects.endpointSlices));
  const diagnostics = prev.diagnostics.filter((d) => d.code !== 'NoReadyEndpoints');
  const backends = prev.table.backends.map((b) => {
    const ref: BackendRef = {
      id: b.id,
      namespace: b.service.namespace,
      service: b.service.name,
      port: b.service.port,
      ...(b.serviceUpstream === true ? { serviceUpstream: true as const } : {}),
    };
    const { backend, problem } = resolve(ref);
    if (problem === null && backend.endpoints.length === 0) {
      diagnostics.push(noReadyEndpoints(backend));
    }
    return backend;
  });
  const { schema: _s, version: _v, ...content } = prev.table;
  return { ...prev, table: sealTable({ ...content, backends }), diagnostics: finishDiagnostics(diagnostics) };
}
