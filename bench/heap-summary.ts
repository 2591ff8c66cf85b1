// Summarises a V8 heap snapshot (bench/k8s-scale.ts writes one): the self size of every object grouped by
// constructor (what Chrome DevTools' "Summary" view shows), biggest first, and the strings by their first
// characters, which tells which kind of Kubernetes data they hold. Not a test.
// Run: node --import tsx bench/heap-summary.ts <file.heapsnapshot> [rows=20]
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const file = process.argv[2];
if (file === undefined) {
  console.error('usage: bench/heap-summary.ts <file.heapsnapshot> [rows]');
  process.exit(2);
}
const rows = Number(process.argv[3] ?? 20);
const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
const fieldsPerNode = snap.snapshot.meta.node_fields.length;
const typeAt = snap.snapshot.meta.node_fields.indexOf('type');
const nameAt = snap.snapshot.meta.node_fields.indexOf('name');
const sizeAt = snap.snapshot.meta.node_fields.indexOf('self_size');
const types = snap.snapshot.meta.node_types[0];
const groups = new Map<string, { count: number; bytes: number }>();
const strings = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += fieldsPerNode) {
  const type = types[snap.nodes[i + typeAt]!]!;
  const name = snap.strings[snap.nodes[i + nameAt]!]!;
  const bytes = snap.nodes[i + sizeAt]!;
  total += bytes;
  const key = type === 'object' || type === 'closure' ? `${type} ${name.slice(0, 60)}` : type;
  const g = groups.get(key) ?? groups.set(key, { count: 0, bytes: 0 }).get(key)!;
  g.count++;
  g.bytes += bytes;
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    // Group strings by shape: the first 24 characters with digits folded, enough to tell a PEM from a label.
    const shape = name.slice(0, 24).replace(/[0-9]/g, '9');
    const s = strings.get(shape) ?? strings.set(shape, { count: 0, bytes: 0 }).get(shape)!;
    s.count++;
    s.bytes += bytes;
  }
}
const mib = (b: number): string => (b / 1048576).toFixed(1);
console.log(`total self size ${mib(total)} MiB in ${snap.nodes.length / fieldsPerNode} objects`);
for (const [k, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, rows))
  console.log(`${mib(g.bytes).padStart(7)} MiB ${String(g.count).padStart(9)}  ${k}`);
console.log('strings by shape:');
for (const [k, g] of [...strings].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, rows))
  console.log(`${mib(g.bytes).padStart(7)} MiB ${String(g.count).padStart(9)}  ${JSON.stringify(k)}`);
