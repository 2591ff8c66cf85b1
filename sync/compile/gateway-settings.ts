// The compiler's gateway-wide inputs beside the Ingresses: the controller ConfigMap (controller-settings.ts), the
// default backend Service and the default certificate (ingress-nginx's --default-backend-service and
// --default-ssl-certificate). Each one that cannot be used is a diagnostic on the object it names, and Portico's
// behaviour without it applies.
import type { ObjectRef } from '../../gateway/table/schema.ts';
import { unenforcedMessage } from './access-control.ts';
import { parseAnnotations } from './annotations.ts';
import { type ControllerSettings, NO_CONTROLLER_SETTINGS, readControllerSettings } from './controller-settings.ts';
import { reporter } from './diagnostics.ts';
import type { BackendRef, IngressPlan } from './ingress.ts';
import { fields, items, objectInfo } from './objects.ts';
import type { LoadedCertificate, SecretLoader } from './tls.ts';
import type { ClusterObjects, CompileOptions, Diagnostic } from './types.ts';

/** `namespace/name` → its parts; the flags were checked by the CLI, so this only guards the compiler's callers. */
export function splitRef(id: string): ObjectRef | null {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(id);
  return m === null ? null : { namespace: m[1]!, name: m[3]! };
}

/** The problems the annotation parser finds in `annotations`, as text (controller-settings.ts AnnotationCheck). */
function annotationProblems(annotations: Record<string, string>): string[] {
  const parsed = parseAnnotations(annotations);
  return [...parsed.problems.map((p) => p.message), ...parsed.unenforced.map(unenforcedMessage)];
}

/** The settings of `options.nginxConfigMap`; ingress-nginx's defaults when it names a ConfigMap that does not exist
 * (as ingress-nginx runs with its defaults then), nothing without the option. */
export function controllerSettings(objects: ClusterObjects, options: CompileOptions, sink: Diagnostic[]): ControllerSettings {
  if (options.nginxConfigMap === undefined) return NO_CONTROLLER_SETTINGS;
  const ref = splitRef(options.nginxConfigMap);
  if (ref === null) return NO_CONTROLLER_SETTINGS;
  const report = reporter(sink, 'ConfigMap', ref);
  const found = items(objects.configMaps).find((c) => {
    const info = objectInfo(c);
    return info.namespace === ref.namespace && info.name === ref.name;
  });
  if (found === undefined)
    report('SettingsNotFound', `controller ConfigMap ${ref.namespace}/${ref.name} was not found; ingress-nginx's defaults apply`);
  return readControllerSettings(found, ref, annotationProblems, report);
}

/** limit-req-status-code and its companions onto the limits the Ingresses ask for. */
export function applyRefusalStatuses(plans: readonly IngressPlan[], statuses: ControllerSettings['statuses']): void {
  if (statuses.request === undefined && statuses.connection === undefined && statuses.globalRateLimit === undefined) return;
  for (const plan of plans) {
    const a = plan.access;
    if (a === undefined) continue;
    if (a.limits !== undefined) {
      const { rps, rpm, connections } = a.limits;
      a.limits = {
        ...a.limits,
        ...(statuses.request !== undefined && (rps !== undefined || rpm !== undefined) ? { status: statuses.request } : {}),
        ...(statuses.connection !== undefined && connections !== undefined ? { connectionStatus: statuses.connection } : {}),
      };
    }
    if (a.globalRateLimit !== undefined && statuses.globalRateLimit !== undefined)
      a.globalRateLimit = { ...a.globalRateLimit, status: statuses.globalRateLimit };
  }
}

/** --default-backend-service: the Service's first port, as ingress-nginx's default upstream
 * (controller.go getDefaultUpstream reads svc.Spec.Ports[0]); null with a diagnostic when it cannot be used. */
export function defaultServiceBackend(options: CompileOptions, services: readonly unknown[], sink: Diagnostic[]): BackendRef | null {
  if (options.defaultBackendService === undefined) return null;
  const ref = splitRef(options.defaultBackendService);
  if (ref === null) return null;
  const svc = services.find((s) => {
    const info = objectInfo(s);
    return info.namespace === ref.namespace && info.name === ref.name;
  });
  const port = svc === undefined ? undefined : fields(items(fields(fields(svc).spec).ports)[0]).port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    reporter(
      sink,
      'Service',
      ref,
    )(
      'SettingsNotFound',
      `the default backend Service ${ref.namespace}/${ref.name} ${svc === undefined ? 'was not found' : 'has no port'}; requests no Ingress takes get 404`,
    );
    return null;
  }
  return { id: `${ref.namespace}/${ref.name}:${port}`, namespace: ref.namespace, service: ref.name, port };
}

/** --default-ssl-certificate: the Secret's certificate, or null with a diagnostic (the worker's own applies). */
export function defaultCertificate(options: CompileOptions, load: SecretLoader, sink: Diagnostic[]): LoadedCertificate | null {
  if (options.defaultSslCertificate === undefined) return null;
  const ref = splitRef(options.defaultSslCertificate);
  if (ref === null) return null;
  const r = load(ref.namespace, ref.name);
  if (r.ok) return r.cert;
  reporter(sink, 'Secret', ref)(r.code, `the default certificate: ${r.message}`);
  return null;
}
