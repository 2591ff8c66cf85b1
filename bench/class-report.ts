// What the agent adds to each full compile to say why Ingresses are not served (sync/compile/class-report.ts),
// and what the status plan (sync/kube/status.ts) costs per API round, both against the compile itself, in one
// run (ratios, not absolute times). Not a test.
// Run: node --import tsx bench/class-report.ts [ingresses=5000]
import { classReport } from '../sync/compile/class-report.ts';
import { compile } from '../sync/compile/index.ts';
import { DEFAULT_COMPILE_OPTIONS, type ClusterObjects, type Ingress } from '../sync/compile/types.ts';
import { desiredStatus, planStatus } from '../sync/kube/status.ts';
import { time } from './lib/timing.ts';

const N = Number(process.argv[2] ?? 5000);
const options = { ...DEFAULT_COMPILE_OPTIONS, serveClasses: ['nginx'] };
// Half by ingressClassName nginx, a quarter by the legacy annotation, a quarter of another class.
const ingresses = Array.from({ length: N }, (_, i) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    namespace: `ns${i % 50}`,
    name: `app${i}`,
    uid: `uid-${i}`,
    ...(i % 4 === 1 ? { annotations: { 'kubernetes.io/ingress.class': 'nginx' } } : {}),
  },
  spec: {
    ...(i % 4 === 1 ? {} : { ingressClassName: i % 4 === 3 ? 'other' : 'nginx' }),
    rules: [
      {
        host: `app${i}.example.com`,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
      },
    ],
  },
  status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } },
})) as unknown as Ingress[];
const objects: ClusterObjects = {
  ingresses,
  ingressClasses: [{ metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } }] as ClusterObjects['ingressClasses'],
  services: [],
  endpointSlices: [],
  secrets: [],
};
const result = compile(objects, options);
const desired = desiredStatus(['203.0.113.1']);
const ledger = new Map(result.accepted.map((r) => [`${r.namespace}/${r.name}`, { uid: `uid-${r.name.slice(3)}`, addresses: desired }]));

console.log(`${N} Ingresses, ${result.accepted.length} served`);
const full = time('compile (full)', 5, () => compile(objects, options));
const report = time('classReport', 50, () => classReport(objects, options));
const plan = time('planStatus (ledger of every served Ingress)', 50, () => planStatus(ingresses, result.accepted, desired, ledger));
console.log(`classReport / compile = ${(report / full).toFixed(4)}; planStatus / compile = ${(plan / full).toFixed(4)}`);
