// Why Ingresses are not served: counted by reason, with the class names seen and the agent flag that
// would select them. The agent turns this into a log line, a readiness detail and the metric
// portico_ingresses_not_selected{reason}, so that a gateway serving nothing because of its class flags says so
// (ingress-nginx logs "ingress class annotation is not equal to the expected by Ingress Controller" per
// Ingress; docs/user-guide/k8s-122-migration.md).
import { classVerdicts, type NotSelectedReason } from './classes.ts';
import { compareStrings, fields, items } from './objects.ts';
import type { ClusterObjects, CompileOptions } from './types.ts';

export interface ClassReport {
  ingresses: number;
  selected: number;
  notSelected: Record<NotSelectedReason, number>;
  /** Class names of the Ingresses not selected (ingressClassName or legacy annotation), sorted, with counts. */
  classesSeen: { name: string; count: number }[];
  /** `--ingress-class` (the legacy annotation value), and how many Ingresses name a class of that name in
   * `spec.ingressClassName` without being served: the trap of `--ingress-class nginx` with ingress-nginx's
   * leftover IngressClass, which serves the annotated Ingresses and silently not these. */
  annotationClass: string;
  namedLikeAnnotationClass: number;
}

export const NOT_SELECTED_REASONS: readonly NotSelectedReason[] = ['ingress-class-name', 'legacy-annotation', 'no-class'];

export function classReport(objects: Pick<ClusterObjects, 'ingresses' | 'ingressClasses'>, options: CompileOptions): ClassReport {
  const verdict = classVerdicts(items(objects.ingressClasses), options, []);
  const notSelected: Record<NotSelectedReason, number> = { 'ingress-class-name': 0, 'legacy-annotation': 0, 'no-class': 0 };
  const seen = new Map<string, number>();
  let selected = 0;
  let namedLikeAnnotationClass = 0;
  const all = items(objects.ingresses);
  for (const raw of all) {
    // Only spec and annotations are read: objectInfo() would also print the whole object as canonical JSON.
    const v = verdict({ raw, annotations: fields(fields(fields(raw).metadata).annotations) });
    if (v.ours) {
      selected++;
      continue;
    }
    notSelected[v.reason]++;
    if (v.reason === 'ingress-class-name' && v.className === options.annotationClass) namedLikeAnnotationClass++;
    if (v.reason !== 'no-class') seen.set(v.className, (seen.get(v.className) ?? 0) + 1);
  }
  const classesSeen = [...seen].map(([name, count]) => ({ name, count })).sort((a, b) => compareStrings(a.name, b.name));
  return { ingresses: all.length, selected, notSelected, classesSeen, annotationClass: options.annotationClass, namedLikeAnnotationClass };
}

/** The flags that would select what is not selected: one --serve-class per class seen, and
 * --watch-ingress-without-class for Ingresses without any class. */
export function selectingFlags(r: ClassReport): string[] {
  return [
    ...r.classesSeen.map((c) => `--serve-class ${c.name}`),
    ...(r.notSelected['no-class'] > 0 ? ['--watch-ingress-without-class'] : []),
  ];
}

/** One line for the log and the readiness detail when nothing is served although Ingresses exist, or when
 * Ingresses name the --ingress-class value in ingressClassName and are not served; null otherwise. */
export function classSelectionMessage(r: ClassReport): string | null {
  if (r.ingresses === 0) return null;
  if (r.selected > 0)
    return r.namedLikeAnnotationClass === 0
      ? null
      : `${r.namedLikeAnnotationClass} Ingress(es) with ingressClassName ${r.annotationClass} are not served: --ingress-class ${r.annotationClass} matches only the legacy kubernetes.io/ingress.class annotation, and IngressClass ${r.annotationClass} is not of this agent's controller; to serve them: --serve-class ${r.annotationClass}`;
  const classes = r.classesSeen.map((c) => `${c.name} (${c.count})`);
  if (r.notSelected['no-class'] > 0) classes.push(`no class (${r.notSelected['no-class']})`);
  return `serving no Ingress: ${r.ingresses} exist, none of a class this agent serves; classes seen: ${classes.join(', ')}; to serve them: ${selectingFlags(r).join(' ')}`;
}
