// validate() for custom-headers: the response headers a route sets from a ConfigMap (access.customHeaders).
// ingress-nginx (internal/ingress/annotations/customheaders) accepts a ConfigMap entry whose name matches
// `^[a-zA-Z\d\-_]+$` and whose value matches `^[a-zA-Z\d_ :;.,\\/"'?!(){}\[\]@<>=\-+*#$&\x60|~^%]+$` (every
// visible ASCII character and the space, at least one); its template writes `more_set_headers "<name>: <value>";`
// with `$` escaped, so a value is literal text. Portico takes the same grammar, bounded, and never sets a header
// that frames the response or belongs to one hop (the forwarders would send a broken message), nor the tunnel
// protocol's `portico-*` headers.

/** At most this many headers per route: a ConfigMap of security headers has a handful. */
export const MAX_CUSTOM_HEADERS = 64;
/** A longer value is refused (a Content-Security-Policy is the longest such header in practice). */
export const MAX_CUSTOM_HEADER_VALUE = 8192;
/** The names and values of one route together: what a response can gain. */
export const MAX_CUSTOM_HEADERS_BYTES = 32768;

/** ingress-nginx's customheaders ValidHeader, bounded: also the grammar of --global-allowed-response-headers. */
export const CUSTOM_HEADER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** ingress-nginx's customheaders ValidValue: visible ASCII and the space; never a control character. */
const CUSTOM_HEADER_VALUE = /^[\x20-\x7e]+$/;

/** Headers that frame the response or belong to one hop (RFC 9110 §7.6.1, RFC 9112 §6): the forwarders write
 * these themselves, and a second copy would break the message for the client. */
const NOT_SETTABLE = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
]);

/** Why one ConfigMap entry cannot be a response header, or null. */
export function customHeaderProblem(name: string, value: string): string | null {
  if (!CUSTOM_HEADER_NAME.test(name)) return 'is not a header name (letters, digits, "-" and "_", at most 64)';
  const lower = name.toLowerCase();
  if (NOT_SETTABLE.has(lower) || lower.startsWith('portico-'))
    return "may not be set (a header that frames the response, belongs to one hop, or is the gateway's own)";
  if (value.length > MAX_CUSTOM_HEADER_VALUE) return `has a value longer than ${MAX_CUSTOM_HEADER_VALUE} characters`;
  if (!CUSTOM_HEADER_VALUE.test(value))
    return 'has an empty value or one with a character other than visible ASCII and the space (as ingress-nginx refuses it)';
  return null;
}

/** access.customHeaders in a table: 1 to MAX_CUSTOM_HEADERS [name, value] pairs, sorted by lower-case name, no
 * name twice (whatever its case), at most MAX_CUSTOM_HEADERS_BYTES in all. */
export function checkCustomHeaders(v: unknown, at: string, bad: (at: string, message: string) => void): void {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_CUSTOM_HEADERS)
    return bad(at, `must be a list of 1 to ${MAX_CUSTOM_HEADERS} [name, value] pairs`);
  let last = '';
  let bytes = 0;
  for (const [i, e] of v.entries()) {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'string') {
      bad(`${at}[${i}]`, 'must be a [name, value] pair');
      continue;
    }
    const [name, value] = e as [string, string];
    const problem = customHeaderProblem(name, value);
    if (problem !== null) bad(`${at}[${i}]`, `${JSON.stringify(name)} ${problem}`);
    else if (name.toLowerCase() <= last) bad(`${at}[${i}]`, `${JSON.stringify(name)} is out of order or repeated`);
    last = name.toLowerCase();
    bytes += name.length + value.length;
  }
  if (bytes > MAX_CUSTOM_HEADERS_BYTES) bad(at, `holds ${bytes} characters of names and values (at most ${MAX_CUSTOM_HEADERS_BYTES})`);
}
