// ingress-nginx's rewrite annotations (internal/ingress/annotations/rewrite; docs: "Rewrite", "use-regex"):
// use-regex, rewrite-target and enable-rewrite-log → whether the Ingress's paths are regular expressions and
// the rewrite template of its routes. Routing, not access control: a malformed value is a Warning and the
// Ingress is served as if the annotation were absent (ingress-nginx does not deny the location either).
import { rewriteProblem } from '../../gateway/table/rewrite.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import { goBool } from './annotation-values.ts';
import type { AnnotationProblem } from './annotations.ts';
import { show, type Fields } from './objects.ts';

export const USE_REGEX = `${NGINX_PREFIX}use-regex`;
export const REWRITE_TARGET = `${NGINX_PREFIX}rewrite-target`;
export const REWRITE_LOG = `${NGINX_PREFIX}enable-rewrite-log`;

export interface ParsedRewrite {
  /** The Ingress's paths are regular expressions: use-regex is true, or rewrite-target is set (ingress-nginx's
   * template enforces regex on a server as soon as one location has either). */
  regex: boolean;
  /** rewrite-target, valid: the template of every route of the Ingress. */
  target?: string;
  consumed: Set<string>;
  problems: AnnotationProblem[];
}

const invalid = (key: string, raw: unknown, expected: string, instead: string): AnnotationProblem => ({
  code: 'InvalidAnnotation',
  message: `annotation ${JSON.stringify(key)} has value ${show(raw)}; ${expected}, so ${instead}`,
});

export function parseRewriteAnnotations(annotations: Fields): ParsedRewrite {
  const consumed = new Set<string>();
  const problems: AnnotationProblem[] = [];
  let useRegex = false;
  let target: string | undefined;
  if (Object.hasOwn(annotations, USE_REGEX)) {
    consumed.add(USE_REGEX);
    const raw = annotations[USE_REGEX];
    const v = typeof raw === 'string' ? goBool(raw) : undefined;
    if (v === undefined) problems.push(invalid(USE_REGEX, raw, 'expected "true" or "false"', 'the default (false) applies'));
    else useRegex = v;
  }
  if (Object.hasOwn(annotations, REWRITE_TARGET)) {
    consumed.add(REWRITE_TARGET);
    const raw = annotations[REWRITE_TARGET];
    // ingress-nginx reads an empty value as "no rewrite".
    if (typeof raw === 'string' && raw.trim() !== '') {
      const why = rewriteProblem(raw.trim());
      if (why === null) target = raw.trim();
      else problems.push(invalid(REWRITE_TARGET, raw, `the target ${why}`, 'the path is not rewritten'));
    } else if (typeof raw !== 'string') problems.push(invalid(REWRITE_TARGET, raw, 'expected a path', 'the path is not rewritten'));
  }
  if (Object.hasOwn(annotations, REWRITE_LOG)) {
    // Accepted: nginx's rewrite_log writes each rewrite to its error log; Portico has no such log, and the
    // rewritten path is what the upstream sees (and what `portico inspect explain` shows).
    consumed.add(REWRITE_LOG);
    const raw = annotations[REWRITE_LOG];
    if (typeof raw !== 'string' || goBool(raw) === undefined)
      problems.push(invalid(REWRITE_LOG, raw, 'expected "true" or "false"', 'it is ignored (it changes nothing in Portico)'));
  }
  return { regex: useRegex || target !== undefined, ...(target === undefined ? {} : { target }), consumed, problems };
}
