// The incremental compiler (sync/compile/incremental.ts) against compile() itself: random sequences of adds, updates
// and deletes of Ingresses, Services, EndpointSlices and Secrets over a few shared hosts, with the annotations that
// decide things across Ingresses of a host (canaries, ssl-passthrough, use-regex, server-snippet, error backends)
// and, rarely, the ones that span hosts (spec.defaultBackend, server-alias: a full compile). After every step the
// incremental result must be byte for byte the full compile's: canonical table, diagnostics, certificate material,
// basic-auth material and accepted Ingresses.
// A failure prints fast-check's seed and the shrunk steps; replay with `{ seed, path }` in fc.assert's options.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../gateway/table/canonical.ts';
import { compile } from '../../sync/compile/index.ts';
import { IncrementalCompiler } from '../../sync/compile/incremental.ts';
import type { ClusterObjects, CompileOptions, CompileResult } from '../../sync/compile/types.ts';
import { backend, cls, ingress, objects, rule, secret, slice, svc, tls, type AnyObject } from '../support/builders.ts';
import { makeCert } from '../compile/certs.ts';

const cert = makeCert({ cn: 'a.example', sans: ['a.example', '*.example'], key: 'ec' });
const N = 'nginx.ingress.kubernetes.io/';

const host = fc.constantFrom('a.example', 'b.example', 'c.example', 'x.example', '*.example', undefined);
const service = fc.constantFrom('web', 'api', 'err', 'gone');
const path = fc.record({
  path: fc.constantFrom('/', '/p', '/p/q', '/(.*)'),
  pathType: fc.constantFrom('Prefix', 'Exact', 'ImplementationSpecific'),
  backend: fc.tuple(service, fc.constantFrom<number | string>(80, 'http', 81)).map(([s, p]) => backend(s, p)),
});
const annotations = fc
  .subarray([
    [`${N}canary`, 'true'],
    [`${N}canary-weight`, '30'],
    [`${N}ssl-passthrough`, 'true'],
    [`${N}use-regex`, 'true'],
    [`${N}rewrite-target`, '/$1'],
    [`${N}default-backend`, 'err'],
    [`${N}custom-http-errors`, '404'],
    [`${N}server-snippet`, 'add_header X-Server on;'],
    [`${N}configuration-snippet`, 'more_set_headers "X-Loc: on";'],
    [`${N}whitelist-source-range`, '10.0.0.0/8'],
    [`${N}ssl-redirect`, 'false'],
    [`${N}limit-rps`, '5'],
  ] as const)
  .map((kv) => Object.fromEntries(kv) as Record<string, string>);
/** Rare: the annotation and field that make every compile a full one while such an Ingress exists. */
const spanning = fc.oneof(
  { weight: 12, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ annotations: { [`${N}server-alias`]: 'c.example' } }) },
  { weight: 1, arbitrary: fc.constant({ defaultBackend: backend('web', 80) }) },
);

const ingressArb = fc
  .record({
    name: fc.constantFrom('i0', 'i1', 'i2', 'i3', 'i4', 'i5'),
    namespace: fc.constantFrom('default', 'default', 'other'),
    created: fc.integer({ min: 0, max: 3 }),
    className: fc.constantFrom<string | null>('portico', 'portico', 'portico', 'other', null),
    rules: fc.array(fc.tuple(host, fc.array(path, { minLength: 1, maxLength: 2 })), { maxLength: 2 }),
    tls: fc.option(
      fc.tuple(
        fc.constantFrom('tls-a', 'tls-bad', 'tls-none'),
        fc.array(fc.constantFrom('a.example', 'b.example', '*.example'), { maxLength: 2 }),
      ),
      { nil: undefined },
    ),
    annotations,
    spanning,
  })
  .map((r) =>
    ingress(r.name, {
      namespace: r.namespace,
      created: r.created,
      className: r.className,
      annotations: { ...r.annotations, ...('annotations' in r.spanning ? r.spanning.annotations : {}) },
      rules: r.rules.map(([h, paths]) => rule(h, ...paths)),
      ...(r.tls === undefined ? {} : { tls: [tls(r.tls[0], ...r.tls[1])] }),
      ...('defaultBackend' in r.spanning ? { defaultBackend: r.spanning.defaultBackend } : {}),
    }),
  );
const serviceArb = fc
  .tuple(fc.constantFrom('web', 'api', 'err'), fc.constantFrom('default', 'other'), fc.constantFrom(80, 81))
  .map(([name, namespace, port]) => svc(name, { namespace, ports: [{ name: 'http', port, targetPort: 8080 }] }));
const sliceArb = fc
  .tuple(fc.constantFrom('web', 'api', 'err'), fc.constantFrom('default', 'other'), fc.subarray(['10.0.0.1', '10.0.0.2']), fc.boolean())
  .map(([name, namespace, ips, ready]) =>
    slice(
      name,
      ips.map((ip) => ({ ip, ready })),
      { namespace },
    ),
  );
const secretArb = fc
  .tuple(fc.constantFrom('tls-a', 'tls-bad', 'auth'), fc.boolean())
  .map(([name, good]) => secret(name, good ? cert : { certPem: 'not a certificate', keyPem: cert.keyPem }));

type Step = { put: AnyObject } | { remove: AnyObject } | { touch: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: ingressArb.map((put) => ({ put })) },
  { weight: 2, arbitrary: ingressArb.map((remove) => ({ remove })) },
  { weight: 2, arbitrary: fc.oneof(serviceArb, sliceArb, secretArb).map((put) => ({ put })) },
  { weight: 1, arbitrary: fc.oneof(serviceArb, sliceArb, secretArb).map((remove) => ({ remove })) },
  { weight: 1, arbitrary: fc.nat().map((touch) => ({ touch })) },
);

const keyOf = (o: AnyObject): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

const snapshot = (store: Map<string, AnyObject>): ClusterObjects => objects(cls('portico'), ...store.values());

const bytes = (r: CompileResult) => ({
  table: canonicalJson(r.table),
  diagnostics: r.diagnostics,
  certificates: r.certificates,
  basicAuth: r.basicAuth,
  accepted: r.accepted,
});

const OPTIONS: { name: string; options: Partial<CompileOptions> }[] = [
  { name: 'default options', options: {} },
  { name: '--default-backend-service', options: { defaultBackendService: 'default/err' } },
];

describe('incremental compile equals a full compile', () => {
  for (const { name, options } of OPTIONS)
    it(`after every step of random change sequences (${name})`, () => {
      let partials = 0;
      fc.assert(
        fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), fc.array(step, { minLength: 1, maxLength: 12 }), (setup, changes) => {
          const store = new Map<string, AnyObject>();
          const apply = (s: Step): void => {
            if ('put' in s) store.set(keyOf(s.put), s.put);
            else if ('remove' in s) store.delete(keyOf(s.remove));
            else {
              const keys = [...store.keys()];
              const k = keys[s.touch % Math.max(keys.length, 1)];
              if (k !== undefined) store.set(k, structuredClone(store.get(k)!)); // same content, a new object
            }
          };
          // fullCompileShare 1: only what spans hosts falls back, so the partial path is what is tested.
          const inc = new IncrementalCompiler(options, 1);
          for (const s of setup) apply(s);
          inc.compile(snapshot(store));
          for (const s of changes) {
            apply(s);
            const objects = snapshot(store);
            expect(bytes(inc.compile(objects))).toEqual(bytes(compile(objects, options)));
          }
          expect(inc.stats.errors).toBe(0); // no partial compile threw and was papered over by a full one
          partials += inc.stats.partial;
        }),
        { numRuns: 150 },
      );
      // The property is about the partial path: it must have been taken, not always fallen back from.
      expect(partials).toBeGreaterThan(100);
    });
});
