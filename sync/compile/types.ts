// Inputs and outputs of the pure compiler: Kubernetes objects in, { table, certificates, diagnostics } out.
// The object types are the subset of the Kubernetes API fields the compiler reads (networking.k8s.io/v1,
// discovery.k8s.io/v1, core/v1); anything else on the objects is ignored.
import type { Diagnostic } from '../../gateway/table/diagnostics.ts';
import type { BasicAuthMaterial } from '../../gateway/table/basic-auth.ts';
import type { CertificateMaterial, ObjectRef, RoutingTable } from '../../gateway/table/schema.ts';

export type { Diagnostic, DiagnosticCode } from '../../gateway/table/diagnostics.ts';

export interface ObjectMeta {
  namespace?: string;
  name?: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServiceBackendPort {
  number?: number;
  name?: string;
}
export interface IngressBackend {
  service?: { name?: string; port?: ServiceBackendPort };
  resource?: { apiGroup?: string; kind?: string; name?: string };
}
export interface HTTPIngressPath {
  path?: string;
  pathType?: string;
  backend?: IngressBackend;
}
export interface IngressRule {
  host?: string;
  http?: { paths?: HTTPIngressPath[] };
}
export interface IngressTLS {
  hosts?: string[];
  secretName?: string;
}
export interface Ingress {
  apiVersion?: string;
  kind?: 'Ingress';
  metadata?: ObjectMeta;
  spec?: { ingressClassName?: string; defaultBackend?: IngressBackend; tls?: IngressTLS[]; rules?: IngressRule[] };
}

export interface IngressClass {
  apiVersion?: string;
  kind?: 'IngressClass';
  metadata?: ObjectMeta;
  spec?: { controller?: string };
}

export interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
}
export interface Service {
  apiVersion?: string;
  kind?: 'Service';
  metadata?: ObjectMeta;
  spec?: { type?: string; ports?: ServicePort[]; externalName?: string; clusterIP?: string };
}

export interface EndpointSlice {
  apiVersion?: string;
  kind?: 'EndpointSlice';
  metadata?: ObjectMeta;
  addressType?: string;
  endpoints?: { addresses?: string[]; conditions?: { ready?: boolean | null }; zone?: string }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export interface Secret {
  apiVersion?: string;
  kind?: 'Secret';
  metadata?: ObjectMeta;
  type?: string;
  /** base64, as the API serves it */
  data?: Record<string, string>;
  /** plain text, as manifests may write it */
  stringData?: Record<string, string>;
}

export interface ConfigMap {
  apiVersion?: string;
  kind?: 'ConfigMap';
  metadata?: ObjectMeta;
  data?: Record<string, string>;
  /** base64, as the API serves it */
  binaryData?: Record<string, string>;
}

/** What the agent fetched from a portico.dev/auth-jwt-jwks-url (sync/kube/jwks-urls.ts): the body of the last
 * good answer, or why there is none. Passed in so the compiler stays free of I/O. */
export interface JwksDocument {
  url: string;
  body?: string;
  error?: string;
}

export interface ClusterObjects {
  ingresses: Ingress[];
  ingressClasses: IngressClass[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  secrets: Secret[];
  /** ConfigMaps named by portico.dev/auth-jwt-jwks-configmap, auth-proxy-set-headers and custom-headers (read by
   * name by the agent). */
  configMaps?: ConfigMap[];
  /** JWK Sets fetched from portico.dev/auth-jwt-jwks-url. */
  jwks?: JwksDocument[];
}

export interface CompileOptions {
  /** `spec.controller` of the IngressClasses this gateway serves. */
  controller: string;
  /** Class name matched by the legacy `kubernetes.io/ingress.class` annotation when no IngressClass
   * object of ours has that name (ingress-nginx's `--ingress-class`). */
  annotationClass: string;
  /** IngressClass names served whatever controller their object names (--serve-class): taking over the
   * Ingresses of another controller's class, e.g. ingress-nginx's `nginx`, without touching the object. */
  serveClasses: readonly string[];
  /** Serve Ingresses that name no class at all (ingress-nginx's --watch-ingress-without-class). */
  watchWithoutClass: boolean;
  /** The header names a custom-headers ConfigMap may set, matched exactly (ingress-nginx's ConfigMap key
   * global-allowed-response-headers, here the agent's --global-allowed-response-headers). Empty, the default as in
   * ingress-nginx: no header is allowed, so every custom-headers ConfigMap with an entry fails closed. */
  allowedResponseHeaders: readonly string[];
  /** `namespace/name` of ingress-nginx's controller ConfigMap, read as gateway-wide settings
   * (controller-settings.ts; the agent's --nginx-configmap). The object itself comes in `ClusterObjects.configMaps`. */
  nginxConfigMap?: string;
  /** `namespace/name` of the Service (its first port) that serves requests no Ingress's host or default backend
   * takes, instead of the gateway's 404 (ingress-nginx's --default-backend-service). */
  defaultBackendService?: string;
  /** `namespace/name` of the TLS Secret served instead of the worker's generated certificate (ingress-nginx's
   * --default-ssl-certificate). */
  defaultSslCertificate?: string;
}

export const DEFAULT_COMPILE_OPTIONS: CompileOptions = {
  controller: 'portico.dev/ingress-controller',
  annotationClass: 'portico',
  serveClasses: [],
  watchWithoutClass: false,
  allowedResponseHeaders: [],
};

export interface CompileResult {
  table: RoutingTable;
  /** PEM material of every certificate the table references (never part of the table itself). */
  certificates: CertificateMaterial[];
  /** The users and password hashes of every basic-auth Secret the table references (by revision), sorted by
   * revision; like certificate material, never part of the table itself. */
  basicAuth: BasicAuthMaterial[];
  /** Sorted by object, then code, then message. */
  diagnostics: Diagnostic[];
  /** Ingresses of our class (the ones whose status the agent owns), sorted by namespace/name. */
  accepted: ObjectRef[];
}
