// default-backend names a Service, not a port: ingress-nginx builds its custom default backend
// (`custom-default-backend-<namespace>-<name>`) from the Service's first port (controller.go, getEndpointsFromSlices
// with svc.Spec.Ports[0]). This resolves the name of each Ingress's annotation to that port's backend reference; a
// Service that is missing or has no port is a Warning and the annotation does not apply, as ingress-nginx's
// defaultbackend parser fails on a Service it cannot read.
import type { BackendRef, IngressPlan } from './ingress.ts';
import type { Report } from './diagnostics.ts';
import { fields, items, objectInfo } from './objects.ts';

const isPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

export function resolveErrorBackends(
  plans: readonly IngressPlan[],
  services: readonly unknown[],
  reportFor: (p: IngressPlan) => Report,
): void {
  const wanted = plans.filter((p) => p.backends.errorService !== undefined);
  if (wanted.length === 0) return;
  const firstPorts = new Map<string, unknown>();
  for (const s of services.map(objectInfo)) {
    if (s.namespace === undefined || s.name === undefined) continue;
    const key = `${s.namespace}/${s.name}`;
    if (!firstPorts.has(key)) firstPorts.set(key, fields(items(fields(fields(s.raw).spec).ports)[0]).port);
  }
  for (const plan of wanted) {
    const name = plan.backends.errorService!;
    const key = `${plan.ref.namespace}/${name}`;
    const port = firstPorts.get(key);
    if (!firstPorts.has(key) || !isPort(port)) {
      const why = firstPorts.has(key) ? 'has no port' : 'was not found';
      reportFor(plan)(
        firstPorts.has(key) ? 'ServicePortNotFound' : 'ServiceNotFound',
        `Service ${key} named by annotation "nginx.ingress.kubernetes.io/default-backend" ${why}; the routes have no error backend`,
      );
      continue;
    }
    const ref: BackendRef = { id: `${key}:${port}`, namespace: plan.ref.namespace, service: name, port };
    plan.errorBackend = ref;
  }
}
