// Diagnostics: what the compiler says about the objects it read. Published into Redis beside each table
// (the `diagnostics` field of a version), turned into Events by the agent and read by inspection, so their
// shape is part of the contract.
import type { ObjectRef } from './schema.ts';

/** Stable codes: tools, Events and metrics key on these, so never rename one. */
export type DiagnosticCode =
  | 'InvalidObject' // missing name/namespace/spec where required
  | 'InvalidHost' // host not an RFC 1123 name or one-label wildcard
  | 'InvalidPath' // path not absolute, dot segments, bad characters
  | 'InvalidPathType' // pathType missing or unknown
  | 'InvalidBackend' // neither service nor resource, resource backends, port missing
  | 'ServiceNotFound'
  | 'ServicePortNotFound' // port number/name not among the Service's ports
  | 'ServiceTypeUnsupported' // ExternalName
  | 'NoReadyEndpoints' // info: backend has no ready endpoint (answers 503)
  | 'DuplicateRule' // same host + path + pathType twice within one Ingress
  | 'RouteConflict' // same host + path + pathType in an older Ingress: this one loses
  | 'DefaultBackendConflict' // an older Ingress already provides the default backend
  | 'SecretNotFound'
  | 'SecretInvalid' // not kubernetes.io/tls, or tls.crt/tls.key missing or unparsable
  | 'CertificateKeyMismatch'
  | 'CertificateHostMismatch' // the certificate does not cover a host it is used for
  | 'TLSHostWithoutRule' // spec.tls names a host that no rule of the Ingress serves (harmless)
  | 'UnknownAnnotation' // a portico.dev/ annotation we do not know
  | 'UnsupportedAnnotation' // an ingress-nginx annotation Portico does not implement (snippets never)
  | 'InvalidAnnotation' // an allow-listed annotation with a malformed value
  | 'ClientCertificateConflict' // an older Ingress already sets the host's client certificate check
  | 'HostNameConflict' // a server-alias or from-to-www-redirect name another rule or Ingress already serves: ignored
  | 'AccessControlNotEnforced' // an access-control annotation Portico does not enforce: its routes answer 503
  | 'CanaryWithoutMain' // a canary Ingress's path that no other Ingress routes: ignored (ingress-nginx: 404)
  | 'CanaryConflict' // a second canary for a route that already has one: ignored (ingress-nginx uses the first)
  | 'CanaryAnnotationIgnored' // info: a canary Ingress's other annotations; the main Ingress's apply
  | 'RegexHost' // info: another Ingress of the host uses use-regex or rewrite-target, so this one's paths are regexes too
  | 'ServerSnippetConflict' // an older Ingress already gives the host its server-snippet: this one's is ignored
  | 'JwksUnavailable' // JWT keys missing, unreadable or unusable (ConfigMap, Secret or URL): the routes answer 503
  | 'InvalidSetting' // a controller ConfigMap key with a malformed value: the default applies (access control: fail closed)
  | 'UnsupportedSetting' // a controller ConfigMap key Portico does not honour (or reads from a worker flag instead)
  | 'UnknownSetting' // a controller ConfigMap key that ingress-nginx does not have either
  | 'SettingAccepted' // info: a controller ConfigMap key that changes nothing in Portico
  | 'SettingsNotFound' // the controller ConfigMap or a Service or Secret a setting names does not exist
  | 'PassthroughWithoutBackend' // an ssl-passthrough host with no `/` path and no default backend: its TLS connections are closed
  | 'PassthroughIgnored'; // ssl-passthrough on an Ingress that does not decide for the host (an older one does), or without a host

export interface Diagnostic {
  code: DiagnosticCode;
  severity: 'Warning' | 'Info';
  object: ObjectRef & { kind: 'Ingress' | 'IngressClass' | 'Service' | 'EndpointSlice' | 'Secret' | 'ConfigMap' };
  message: string;
}
