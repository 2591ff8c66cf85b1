// `portico migrate`'s verdict, pure: the cluster objects and the agent's options in, what would change out. It runs
// the compiler itself (so it cannot disagree with what the agent will serve), the class rule the compiler uses, the
// annotation registry behind the README table, and the controller ConfigMap's key dispositions.
import type { Diagnostic } from '../../gateway/table/diagnostics.ts';
import type { ObjectRef, RoutingTable } from '../../gateway/table/schema.ts';
import { NGINX_PREFIX, PORTICO_PREFIX } from '../compile/annotation-prefixes.ts';
import { classVerdicts, LEGACY_CLASS_ANNOTATION } from '../compile/classes.ts';
import { type SettingDisposition, settingDisposition } from '../compile/controller-settings.ts';
import { splitRef } from '../compile/gateway-settings.ts';
import { compile } from '../compile/index.ts';
import { compareStrings, fields, items, objectInfo } from '../compile/objects.ts';
import type { ClusterObjects, CompileOptions } from '../compile/types.ts';
import { annotationSupport, type Support } from './annotation-support.ts';

export interface AnnotationVerdict {
  key: string;
  value: string;
  /** `portico`: one of Portico's own (portico.dev/); `unknown`: an nginx.ingress.kubernetes.io/ name ingress-nginx
   * v1.15 does not document (a typo, or an annotation it removed). */
  support: Support | 'portico' | 'unknown';
  /** Where the README states the details, or why not. */
  where: string;
}

export interface IngressVerdict {
  namespace: string;
  name: string;
  served: boolean;
  /** How the Ingress names its class: `spec.ingressClassName: X`, `kubernetes.io/ingress.class: X`, or `no class`. */
  classBy: string;
  /** Not served: why, and the flag that would select it. */
  notServed?: string;
  /** Routes (host × path) in the table that come from this Ingress, and how many of them answer 503. */
  routes: number;
  closedRoutes: number;
  annotations: AnnotationVerdict[];
  diagnostics: Pick<Diagnostic, 'severity' | 'code' | 'message'>[];
  /** Anything here that ingress-nginx would do differently: not served, an annotation not honoured exactly, a
   * route that answers 503, a Warning. */
  differs: boolean;
}

export interface SettingVerdict extends SettingDisposition {
  key: string;
  value: string;
  differs: boolean;
}

export interface MigrationReport {
  ingresses: IngressVerdict[];
  /** The controller ConfigMap's keys; null without --nginx-configmap. */
  configMap: { ref: string; found: boolean; keys: SettingVerdict[] } | null;
  /** Diagnostics about other objects (ConfigMap, default backend Service, default certificate). */
  otherDiagnostics: Pick<Diagnostic, 'severity' | 'code' | 'message'>[];
  summary: {
    ingresses: number;
    served: number;
    notServed: number;
    exact: number;
    withDifferences: number;
    withClosedRoutes: number;
    configMapKeysDiffering: number;
  };
  /** Whether anything would behave differently from ingress-nginx: the command's exit status 1. */
  differs: boolean;
}

/** Verdicts that are ingress-nginx's behaviour exactly. */
const EXACT: ReadonlySet<AnnotationVerdict['support']> = new Set(['honoured', 'accepted', 'portico']);
/** Diagnostics that only repeat a ConfigMap key's disposition. */
const LISTED_KEY_CODES: ReadonlySet<Diagnostic['code']> = new Set(['SettingAccepted', 'UnsupportedSetting', 'UnknownSetting']);
/** ConfigMap key dispositions that keep ingress-nginx's behaviour. */
const SAME_SETTING: ReadonlySet<SettingDisposition['kind']> = new Set(['annotation-default', 'global-auth', 'setting', 'accepted']);

function annotationVerdicts(annotations: Readonly<Record<string, unknown>>): AnnotationVerdict[] {
  const out: AnnotationVerdict[] = [];
  for (const key of Object.keys(annotations).sort(compareStrings)) {
    const value = annotations[key];
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (key.startsWith(PORTICO_PREFIX)) out.push({ key, value: text, support: 'portico', where: "Portico's own annotation" });
    else if (key.startsWith(NGINX_PREFIX)) {
      const row = annotationSupport(key);
      out.push(
        row === null
          ? { key, value: text, support: 'unknown', where: 'not an annotation of ingress-nginx v1.15; ignored with a Warning' }
          : { key, value: text, support: row.support, where: row.where },
      );
    }
  }
  return out;
}

function classBy(raw: unknown, annotations: Readonly<Record<string, unknown>>): string {
  const className = fields(fields(raw).spec).ingressClassName;
  if (typeof className === 'string' && className !== '') return `spec.ingressClassName: ${className}`;
  const legacy = annotations[LEGACY_CLASS_ANNOTATION];
  if (typeof legacy === 'string' && legacy !== '') return `${LEGACY_CLASS_ANNOTATION}: ${legacy}`;
  return 'no class';
}

function routeCounts(table: RoutingTable): Map<string, { routes: number; closed: number }> {
  const counts = new Map<string, { routes: number; closed: number }>();
  for (const h of table.hosts)
    for (const r of h.routes) {
      const key = `${r.source.namespace}/${r.source.name}`;
      const c = counts.get(key) ?? { routes: 0, closed: 0 };
      c.routes++;
      if (r.policies.failClosed !== undefined) c.closed++;
      counts.set(key, c);
    }
  return counts;
}

const short = (d: Diagnostic): Pick<Diagnostic, 'severity' | 'code' | 'message'> => ({
  severity: d.severity,
  code: d.code,
  message: d.message,
});

export function migrationReport(objects: ClusterObjects, options: CompileOptions): MigrationReport {
  const result = compile(objects, options);
  const served = new Set(result.accepted.map((r: ObjectRef) => `${r.namespace}/${r.name}`));
  const verdict = classVerdicts(items(objects.ingressClasses), options, []);
  const counts = routeCounts(result.table);
  const byObject = new Map<string, Diagnostic[]>();
  const other: Diagnostic[] = [];
  for (const d of result.diagnostics) {
    if (d.object.kind !== 'Ingress') {
      other.push(d);
      continue;
    }
    const key = `${d.object.namespace}/${d.object.name}`;
    byObject.set(key, [...(byObject.get(key) ?? []), d]);
  }

  const ingresses: IngressVerdict[] = [];
  for (const raw of items(objects.ingresses)) {
    const info = objectInfo(raw);
    if (info.namespace === undefined || info.name === undefined) continue;
    const key = `${info.namespace}/${info.name}`;
    const isServed = served.has(key);
    const v = verdict(info);
    const c = counts.get(key) ?? { routes: 0, closed: 0 };
    const annotations = annotationVerdicts(info.annotations);
    const diagnostics = (byObject.get(key) ?? []).map(short);
    const notServed =
      isServed || v.ours
        ? undefined
        : v.reason === 'no-class'
          ? 'no class, and no class this gateway serves is the default: --watch-ingress-without-class=true, or --serve-class with the default class'
          : `class ${v.className} is not served: --serve-class ${v.className}`;
    ingresses.push({
      namespace: info.namespace,
      name: info.name,
      served: isServed,
      classBy: classBy(raw, info.annotations),
      ...(notServed === undefined ? {} : { notServed }),
      routes: c.routes,
      closedRoutes: c.closed,
      annotations,
      diagnostics,
      differs:
        !isServed || c.closed > 0 || annotations.some((a) => !EXACT.has(a.support)) || diagnostics.some((d) => d.severity === 'Warning'),
    });
  }
  ingresses.sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name));

  let configMap: MigrationReport['configMap'] = null;
  const ref = options.nginxConfigMap === undefined ? null : splitRef(options.nginxConfigMap);
  if (ref !== null) {
    const found = items(objects.configMaps).find((o) => {
      const i = objectInfo(o);
      return i.namespace === ref.namespace && i.name === ref.name;
    });
    const data = fields(fields(found).data);
    const keys = Object.keys(data)
      .sort(compareStrings)
      .map((k) => {
        const d = settingDisposition(k);
        return { key: k, value: String(data[k]), ...d, differs: !SAME_SETTING.has(d.kind) };
      });
    configMap = { ref: `${ref.namespace}/${ref.name}`, found: found !== undefined, keys };
  }
  const settingProblems = other.filter((d) => d.severity === 'Warning' && d.code !== 'UnsupportedSetting' && d.code !== 'UnknownSetting');
  const summary = {
    ingresses: ingresses.length,
    served: ingresses.filter((i) => i.served).length,
    notServed: ingresses.filter((i) => !i.served).length,
    exact: ingresses.filter((i) => !i.differs).length,
    withDifferences: ingresses.filter((i) => i.served && i.differs).length,
    withClosedRoutes: ingresses.filter((i) => i.closedRoutes > 0).length,
    configMapKeysDiffering: configMap?.keys.filter((k) => k.differs).length ?? 0,
  };
  return {
    ingresses,
    configMap,
    // The ConfigMap's keys are listed with their disposition; what a key's diagnostic adds (a malformed value, a
    // missing ConfigMap) stays.
    otherDiagnostics: other.filter((d) => !LISTED_KEY_CODES.has(d.code)).map(short),
    summary,
    differs: ingresses.some((i) => i.differs) || summary.configMapKeysDiffering > 0 || settingProblems.length > 0,
  };
}
