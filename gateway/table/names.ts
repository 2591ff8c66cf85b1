// Syntax rules for hosts and paths shared by the compiler (to reject bad objects with a diagnostic)
// and by validate() (to refuse a bad table).

// RFC 1123 subdomain as Kubernetes validates Ingress hosts: lower-case labels of [a-z0-9-],
// alphanumeric at both ends, at most 253 characters in all, each label at most 63.
export const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.split('.').every((l) => DNS_LABEL.test(l));
}

/** A JSON object (not null, not an array): what every reader of untrusted JSON checks first. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A whole number from `min` to `max`. */
export const isWhole = (v: unknown, min: number, max: number): boolean =>
  Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** Reports every field of `v` that `allowed` does not name: a field a worker does not know is a rule it would not apply. */
export function onlyKeys(
  v: Record<string, unknown>,
  allowed: readonly string[],
  at: string,
  bad: (at: string, message: string) => void,
): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) bad(`${at}.${k}`, 'is not a field of this object');
}

/** Exact host, or `*.` followed by a valid host (one-label wildcard, Ingress v1). IP addresses are not hosts. */
export function isValidRuleHost(host: string): boolean {
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (/^[0-9.]+$/.test(name)) return false;
  return isValidHostName(name);
}

/** Path rules for Exact and Prefix as the apiserver enforces them: absolute, no `//`, no dot segments,
 * no encoded slashes, and nothing that is not a URL path character. */
export function pathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must start with "/"';
  if (path.length > 2048) return 'is longer than 2048 characters';
  if (/\/\//.test(path)) return 'must not contain "//"';
  if (/(^|\/)\.\.?(\/|$)/.test(path)) return 'must not contain "." or ".." segments';
  if (/%2f/i.test(path)) return 'must not contain an encoded "/" (%2F)';
  if (!/^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/.test(path)) return 'contains characters that are not allowed in a URL path';
  return null;
}
