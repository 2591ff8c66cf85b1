// Class selection: which Ingresses this gateway serves (README, "Ingress semantics").
import { reporter } from './diagnostics.ts';
import { fields, name, sortedByName, text, type ObjectInfo } from './objects.ts';
import type { CompileOptions, Diagnostic } from './types.ts';

export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export type ClassSelector = (ingress: ObjectInfo) => boolean;

/**
 * An Ingress is ours when
 *  1. `spec.ingressClassName` names one of our IngressClasses (spec.controller === options.controller); or,
 *     only when it has no ingressClassName,
 *  2. the legacy `kubernetes.io/ingress.class` annotation names one of our IngressClasses or equals
 *     options.annotationClass (ingress-nginx's `--ingress-class`); or, when it has neither,
 *  3. one of our IngressClasses is marked `ingressclass.kubernetes.io/is-default-class: "true"`.
 * An empty ingressClassName or annotation counts as not set.
 */
export function classSelector(ingressClasses: readonly unknown[], options: CompileOptions, sink: Diagnostic[]): ClassSelector {
  const ours = new Set<string>();
  let haveDefault = false;
  for (const cls of sortedByName(ingressClasses)) {
    let controller: string | undefined;
    try {
      controller = text(fields(fields(cls.raw).spec).controller);
    } catch {
      continue; // unreadable: it cannot be shown to be ours
    }
    if (controller !== options.controller) continue;
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
    if (className !== undefined) return ours.has(className);
    const legacy = name(ingress.annotations[LEGACY_CLASS_ANNOTATION]);
    if (legacy !== undefined) return ours.has(legacy) || legacy === options.annotationClass;
    return haveDefault;
  };
}
