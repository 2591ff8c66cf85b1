// The agent's flags for which Ingresses it serves and how it writes their status (README, "Moving from
// ingress-nginx"): --serve-class, --watch-ingress-without-class, --write-status and --publish-service. Each bad
// value is one UsageError (exit status 2).
import type { ServiceRef } from '../sync/kube/publish-service.ts';
import { UsageError } from './usage-error.ts';

/** IngressClass names are DNS subdomains (RFC 1123), as the apiserver validates metadata.name. */
const SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Namespaces and Service names are DNS labels (RFC 1123; Services RFC 1035, a subset). */
const LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function classNames(flag: string, values: readonly string[]): string[] {
  for (const v of values)
    if (!SUBDOMAIN.test(v)) throw new UsageError(`--${flag}: ${JSON.stringify(v)} is not an IngressClass name (a DNS subdomain)`);
  return [...new Set(values)];
}

/** `true` or `false`, written out, as ingress-nginx's `--flag=true` boolean flags take them. */
export function trueOrFalse(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${flag}: expected true or false, got ${JSON.stringify(value)}`);
}

/** `NAMESPACE/NAME` (ingress-nginx's --publish-service); with --publish-address it is a usage error. */
export function publishService(value: string | undefined, publishAddresses: readonly string[]): ServiceRef | undefined {
  if (value === undefined) return undefined;
  if (publishAddresses.length > 0)
    throw new UsageError(
      "--publish-service and --publish-address exclude each other: status takes the Service's addresses or the fixed ones",
    );
  const [namespace, name, ...rest] = value.split('/');
  if (namespace === undefined || name === undefined || rest.length > 0 || !LABEL.test(namespace) || !LABEL.test(name))
    throw new UsageError(`--publish-service: expected NAMESPACE/NAME of a Service, got ${JSON.stringify(value)}`);
  return { namespace, name };
}
