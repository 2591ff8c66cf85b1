// The smallest table the publish tests need: one Ingress, one host; `tag` moves its Service's endpoint port, so every
// tag is a table of its own version.
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

export const oneHostWorld = (tag: number): CompileResult =>
  compile(
    objects(
      ourClass(),
      service('web', [{ address: '127.0.0.1', port: 8000 + tag }]),
      ingress('a', { host: 'a.test', paths: [{ path: '/', service: 'web' }] }),
    ),
  );
