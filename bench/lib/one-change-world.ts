// The table the follower benchmarks change one Ingress at a time: N Ingresses, one host each, all to one Service;
// `changed` (an index, or -1 for none) moves its one path from `/` to `/v<changed>`.
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { ingress, objects, ourClass, service } from '../../test/support/manifests.ts';

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
