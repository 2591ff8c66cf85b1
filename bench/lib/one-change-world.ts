// The tables the control-plane benchmarks build and change one Ingress at a time.
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { ingress, objects, ourClass, service } from '../../test/support/manifests.ts';

/** N Ingresses, one host each, all to one Service; `changed` (an index, or -1 for none) moves its one path from `/` to
 * `/v<changed>`. */
export function oneChangeWorld(n: number, changed: number): CompileResult {
  return compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8080 }]),
      ...Array.from({ length: n }, (_, i) =>
        ingress(`ing-${i}`, { host: `app-${i}.example.com`, paths: [{ path: i === changed ? `/v${changed}` : '/', service: 'web' }] }),
      ),
    ),
  );
}

/** The objects of `n` Ingresses in 50 namespaces, each with a Service of its own (`endpoints` addresses) and a host of
 * its own, routing `/` and `/api`; Ingress `changed` routes `/v2` instead of `/api`. */
export function serviceWorldObjects(n: number, o: { endpoints?: number; changed?: number } = {}): Parameters<typeof objects> {
  const items: Parameters<typeof objects> = [ourClass()];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${i % 50}`;
    const addresses = Array.from({ length: o.endpoints ?? 1 }, (_, e) => ({
      address: `10.${(i >> 8) & 255}.${i & 255}.${e + 1}`,
      port: 8080,
    }));
    items.push(...service(`svc-${i}`, addresses, ns));
    items.push(
      ingress(`ing-${i}`, {
        namespace: ns,
        host: `app-${i}.example.com`,
        paths: [
          { path: '/', service: `svc-${i}` },
          { path: i === o.changed ? '/v2' : '/api', service: `svc-${i}` },
        ],
      }),
    );
  }
  return items;
}
