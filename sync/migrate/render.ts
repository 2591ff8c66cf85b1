// `portico migrate`'s text output: one block per Ingress (served or not, how it names its class, every annotation's
// verdict, the compiler's diagnostics), the controller ConfigMap's keys, and a summary. `-o json` prints the report
// object itself (report.ts).
import { SUPPORT_TEXT } from './annotation-support.ts';
import type { AnnotationVerdict, MigrationReport } from './report.ts';

const verdictText = (a: AnnotationVerdict): string =>
  a.support === 'portico' ? "Portico's own" : a.support === 'unknown' ? 'unknown' : SUPPORT_TEXT[a.support];

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const value = (v: string): string => (v.length > 60 ? `${JSON.stringify(v.slice(0, 57))}...` : JSON.stringify(v));

export function renderReport(r: MigrationReport): string {
  const out: string[] = [];
  for (const i of r.ingresses) {
    const canary = i.annotations.some((a) => a.key.endsWith('/canary') && a.value.trim().toLowerCase() === 'true');
    const head = !i.served
      ? `NOT SERVED (${i.notServed ?? 'not of a served class'})`
      : canary && i.routes === 0
        ? "served as a canary: its paths split other Ingresses' routes"
        : `served, ${plural(i.routes, 'route')}${i.closedRoutes > 0 ? ` (${i.closedRoutes} answer 503: fail closed)` : ''}`;
    out.push(`${i.differs ? '!' : ' '} Ingress ${i.namespace}/${i.name}: ${head}; ${i.classBy}`);
    for (const a of i.annotations) out.push(`    ${verdictText(a).padEnd(26)} ${a.key}=${value(a.value)} (${a.where})`);
    for (const d of i.diagnostics) out.push(`    ${d.severity} ${d.code}: ${d.message}`);
  }
  if (r.configMap !== null) {
    out.push('', `ConfigMap ${r.configMap.ref}${r.configMap.found ? '' : ': not found (ingress-nginx defaults apply)'}`);
    for (const k of r.configMap.keys) out.push(`${k.differs ? '!' : ' '}   ${k.kind.padEnd(18)} ${k.key}=${value(k.value)} (${k.note})`);
  }
  if (r.otherDiagnostics.length > 0) {
    out.push('');
    for (const d of r.otherDiagnostics) out.push(`  ${d.severity} ${d.code}: ${d.message}`);
  }
  const s = r.summary;
  out.push(
    '',
    `${plural(s.ingresses, 'Ingress').replace('Ingresss', 'Ingresses')}: ${s.served} served (${s.exact} exactly as ingress-nginx, ${s.withDifferences} with differences, ${s.withClosedRoutes} with routes that answer 503), ${s.notServed} not served` +
      (r.configMap === null
        ? ''
        : `; ${r.configMap.keys.length} ConfigMap keys, ${s.configMapKeysDiffering} not honoured as ingress-nginx does`),
    r.differs ? 'Behaviour would change (lines marked !): exit status 1.' : 'Nothing would change: exit status 0.',
  );
  return `${out.join('\n')}\n`;
}
