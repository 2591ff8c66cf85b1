// validate() for the table's gateway-wide settings (schema 6): the Strict-Transport-Security value and the default
// certificate. A worker never sends a header value it did not see checked.

/** What the compiler writes (RFC 6797 §6.1: `max-age` is required; Portico writes the directives in ingress-nginx's
 * order and spelling, lua_ingress.lua's header filter). */
export const HSTS_VALUE = /^max-age=\d{1,10}(?:; includeSubDomains)?(?:; preload)?$/;

export function checkSettings(
  t: { hsts?: unknown; defaultCertificate?: unknown },
  certificateIds: ReadonlySet<string>,
  bad: (at: string, message: string) => void,
): void {
  if (t.hsts !== undefined && (typeof t.hsts !== 'string' || !HSTS_VALUE.test(t.hsts)))
    bad('hsts', 'must be "max-age=<seconds>" with optional "; includeSubDomains" and "; preload"');
  if (t.defaultCertificate !== undefined && (typeof t.defaultCertificate !== 'string' || !certificateIds.has(t.defaultCertificate)))
    bad('defaultCertificate', `unknown certificate ${JSON.stringify(t.defaultCertificate)}`);
}
