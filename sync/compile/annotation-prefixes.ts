// The two annotation namespaces the compiler reads: Portico's own, and ingress-nginx's (accepted for migration).
export const PORTICO_PREFIX = 'portico.dev/';
export const NGINX_PREFIX = 'nginx.ingress.kubernetes.io/';
