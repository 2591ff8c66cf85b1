// In-process cost of one match on large tables (not a test): 10,000 exact hosts × 5 prefix rules, plus
// 1,000 wildcard hosts. Run: node --import tsx bench/matcher.ts
import { sealTable } from '../gateway/table/canonical.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import type { HostRoutes } from '../gateway/table/schema.ts';

const backend = {
  id: 'ns/svc:80',
  service: { namespace: 'ns', name: 'svc', port: 80 },
  endpoints: [{ address: '10.0.0.1', port: 8080, zone: null }],
  notReady: 0,
};
const route = (path: string) => ({
  path,
  pathType: 'Prefix' as const,
  backend: backend.id,
  source: { namespace: 'ns', name: 'ing' },
  policies: { sslRedirect: false },
});
const hosts: HostRoutes[] = [];
for (let i = 0; i < 10_000; i++)
  hosts.push({
    host: `app-${i}.example.com`,
    tls: null,
    fallbackBackend: null,
    routes: ['', '/api', '/api/v1', '/static', '/admin/tools'].map(route),
  });
for (let i = 0; i < 1_000; i++)
  hosts.push({ host: `*.tenant-${i}.example.net`, tls: null, fallbackBackend: null, routes: ['', '/api'].map(route) });

let t = performance.now();
const table = sealTable({ hosts, defaultBackend: null, backends: [backend], certificates: [] });
const sealMs = performance.now() - t;
t = performance.now();
const m = compileMatcher(table);
const compileMs = performance.now() - t;

const requests: [string, string][] = [];
for (let i = 0; i < 1000; i++) {
  requests.push(
    [`app-${(i * 7919) % 10_000}.example.com`, '/api/v1/users/42'],
    [`x${i}.tenant-${i % 1000}.example.net:443`, '/api/orders'],
    ['unknown.org', '/'],
    [`APP-${i}.example.com`, '/static/app.js'],
  );
}
let sink = 0;
const N = 2_000_000;
for (let i = 0; i < 200_000; i++) sink += m.match(...requests[i % requests.length]!).reason.length; // warm-up
t = performance.now();
for (let i = 0; i < N; i++) sink += m.match(...requests[i % requests.length]!).reason.length;
const ns = ((performance.now() - t) * 1e6) / N;
console.log(
  JSON.stringify({
    hosts: hosts.length,
    routes: 10_000 * 5 + 1_000 * 2,
    sealMs: Math.round(sealMs),
    compileMs: Math.round(compileMs),
    nsPerMatch: Math.round(ns),
    node: process.version,
    sink: sink > 0,
  }),
);
