// Typed reading of the annotations that are not access control (routing, upstream, affinity, error pages): each key
// read is consumed (never reported as unknown), and a value that does not parse reads as absent with one
// InvalidAnnotation problem saying what was expected and what applies instead — the route keeps serving.
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

export interface AnnotationReader {
  consumed: Set<string>;
  problems: AnnotationProblem[];
  /** The parsed value of `key`, or undefined when it is absent or does not parse (`parse` answers null). */
  read<T>(key: string, parse: (raw: unknown) => T | null, expected: string, instead: string): T | undefined;
}

export function annotationReader(annotations: Fields): AnnotationReader {
  const consumed = new Set<string>();
  const problems: AnnotationProblem[] = [];
  return {
    consumed,
    problems,
    read(key, parse, expected, instead) {
      if (!Object.hasOwn(annotations, key)) return undefined;
      consumed.add(key);
      const v = parse(annotations[key]);
      if (v !== null) return v;
      problems.push({
        code: 'InvalidAnnotation',
        message: `annotation ${JSON.stringify(key)} has value ${show(annotations[key])}; expected ${expected}, so ${instead}`,
      });
      return undefined;
    },
  };
}

/** `"true"` or `"false"`, any case, surrounding spaces ignored; anything else null. */
export function strictBool(raw: unknown): boolean | null {
  const v = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  return v === 'true' ? true : v === 'false' ? false : null;
}
