// URL rewrites (schema 5, `policies.rewrite`): ingress-nginx's rewrite-target, which its template writes as
// `rewrite "(?i)<path>" <target> break;` — the whole path is replaced by the target, with `$1`..`$9` standing
// for the capture groups of the location's regex, and the query kept. Here the target is a typed template,
// never text for a proxy: it is parsed once per table and expanded per request from the captures.

/** Longest rewrite template accepted (the longest Exact or Prefix path). */
export const MAX_REWRITE_LENGTH = 2048;

// URL path characters (RFC 3986 pchar and "/") without "$" and "?", then `$1`..`$9` as the only variables.
// No "?": nginx would start a new query there; no other `$name`: that would be an nginx variable.
const LITERAL = /^[A-Za-z0-9\-._~!&'()*+,;=:@/%]*$/;

/** A parsed template: literal text and capture numbers (1-9), in order. */
export type RewriteTemplate = readonly (string | number)[];

/** Why `target` cannot be a rewrite template, or null when it can. */
export function rewriteProblem(target: string): string | null {
  if (!target.startsWith('/')) return 'must start with "/" (a path; rewrites to another scheme or host are not supported)';
  if (target.length > MAX_REWRITE_LENGTH) return `is longer than ${MAX_REWRITE_LENGTH} characters`;
  for (const part of target.split(/\$[1-9]/)) {
    if (!LITERAL.test(part))
      return part.includes('$')
        ? 'uses a "$" other than the capture groups $1 to $9'
        : part.includes('?')
          ? 'contains "?" (a query); only the path can be rewritten'
          : 'contains characters that are not allowed in a URL path';
  }
  return null;
}

/** Splits a valid template into literals and capture numbers. */
export function parseRewrite(target: string): RewriteTemplate {
  const out: (string | number)[] = [];
  let last = 0;
  for (const m of target.matchAll(/\$([1-9])/g)) {
    if (m.index > last) out.push(target.slice(last, m.index));
    out.push(Number(m[1]));
    last = m.index + 2;
  }
  if (last < target.length) out.push(target.slice(last));
  return out;
}

/** The rewritten path: literals as written, `$n` as capture n ("" when the pattern has no such group). */
export function expandRewrite(template: RewriteTemplate, captures: readonly string[] | null): string {
  let out = '';
  for (const part of template) out += typeof part === 'string' ? part : (captures?.[part - 1] ?? '');
  return out;
}
