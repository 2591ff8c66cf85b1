// Bytes of a sampling heap profile by allocation site (the site and three callers), largest first.
// Run: node bench/lib/heap-profile-summary.mjs PROFILE [rows=25]
import { readFileSync } from 'node:fs';

const profile = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rows = Number(process.argv[3] ?? 25);
const bySite = new Map();
const walk = (node, stack) => {
  const f = node.callFrame;
  const here = [...stack, `${f.functionName || '(anon)'} ${f.url.replace(/.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber}`];
  if (node.selfSize > 0) {
    const key = here.slice(-4).reverse().join(' < ');
    bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
  }
  for (const c of node.children) walk(c, here);
};
walk(profile.head, []);
const total = [...bySite.values()].reduce((a, b) => a + b, 0);
console.log(`sampled bytes: ${total}`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, rows))
  console.log(`${((100 * bytes) / total).toFixed(1).padStart(5)} % ${site}`);
