// Class selection: which Ingresses this gateway serves (README, "Ingress semantics" and "Moving from
// ingress-nginx"), and, for the ones it does not serve, why not: the agent says so (log, readiness, metric)
// instead of serving nothing in silence.
import { reporter } from './diagnostics.ts';
import { fields, name, sortedByName, text, type ObjectInfo } from './objects.ts';
import type { CompileOptions, Diagnostic } from './types.ts';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

/** What class selection reads of an Ingress: its spec and annotations (no canonical JSON needed). */
export type ClassInput = Pick<ObjectInfo, 'raw' | 'annotations'>;
export type ClassSelector = (ingress: ClassInput) => boolean;

/** Why an Ingress is not served; the `reason` label of portico_ingresses_not_selected. */
export type NotSelectedReason = 'ingress-class-name' | 'legacy-annotation' | 'no-class';

export type ClassVerdict =
  | { ours: true }
  | { ours: false; reason: 'ingress-class-name' | 'legacy-annotation'; className: string }
  | { ours: false; reason: 'no-class' };

/**
 * An Ingress is ours when
 *  1. `spec.ingressClassName` names one of our IngressClasses (spec.controller === options.controller) or a
 *     class named by `--serve-class` (options.serveClasses: whatever controller that IngressClass names, and
 *     whether or not the object exists; the object is never touched); or, only when it has no ingressClassName,
 *  2. the legacy `kubernetes.io/ingress.class` annotation names one of those classes or equals
 *     options.annotationClass (ingress-nginx's `--ingress-class`); or, when it has neither,
 *  3. one of those classes exists and is marked `ingressclass.kubernetes.io/is-default-class: "true"` (the
 *     Kubernetes rule for Ingresses without a class), or options.watchWithoutClass is set (ingress-nginx's
 *     `--watch-ingress-without-class`).
 * An empty ingressClassName or annotation counts as not set.
 */
export function classVerdicts(
  ingressClasses: readonly unknown[],
  options: CompileOptions,
  sink: Diagnostic[],
): (ingress: ClassInput) => ClassVerdict {
  const served = new Set(options.serveClasses);
  const ours = new Set(served);
  let haveDefault = options.watchWithoutClass;
  for (const cls of sortedByName(ingressClasses)) {
    let controller: string | undefined;
    try {
      controller = text(fields(fields(cls.raw).spec).controller);
    } catch {
      controller = undefined; // unreadable: it cannot be shown to be ours by controller; a served name still is
    }
    const byName = cls.name !== undefined && served.has(cls.name);
    if (controller !== options.controller && !byName) continue;
    if (cls.annotations[DEFAULT_CLASS_ANNOTATION] === 'true') haveDefault = true;
    if (cls.name === undefined) {
      reporter(sink, 'IngressClass', { namespace: '', name: '' })(
        'InvalidObject',
        `an IngressClass of controller ${JSON.stringify(options.controller)} has no metadata.name; Ingresses cannot select it by name`,
      );
    } else {
      ours.add(cls.name);
    }
  }
  return (ingress) => {
    const className = name(fields(fields(ingress.raw).spec).ingressClassName);
    if (className !== undefined) return ours.has(className) ? { ours: true } : { ours: false, reason: 'ingress-class-name', className };
    const legacy = name(ingress.annotations[LEGACY_CLASS_ANNOTATION]);
    if (legacy !== undefined)
      return ours.has(legacy) || legacy === options.annotationClass
        ? { ours: true }
        : { ours: false, reason: 'legacy-annotation', className: legacy };
    return haveDefault ? { ours: true } : { ours: false, reason: 'no-class' };
  };
}

export function classSelector(ingressClasses: readonly unknown[], options: CompileOptions, sink: Diagnostic[]): ClassSelector {
  const verdict = classVerdicts(ingressClasses, options, sink);
  return (ingress) => verdict(ingress).ours;
}
