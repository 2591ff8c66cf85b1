// The nginx variables Portico understands inside annotation values that ingress-nginx lets users write them in
// (auth-url's path and query, auth-signin, auth-request-redirect, auth-cache-key). Part of the contract: the
// compiler refuses a value naming any other variable, and a worker expands exactly these. Nothing in a value
// is ever evaluated: a variable is looked up by name, and any other text is copied as it is.
// Names as in nginx (https://nginx.org/en/docs/http/ngx_http_core_module.html#variables) and ingress-nginx's
// template ($pass_access_scheme, $escaped_request_uri).

/** Variables with a fixed name. */
const NAMED_VARIABLES = [
  'host',
  'http_host',
  'scheme',
  'pass_access_scheme',
  'request_uri',
  'escaped_request_uri',
  'uri',
  'args',
  'request_method',
  'remote_addr',
  'remote_user',
  'server_port',
] as const;
export type NamedVariable = (typeof NAMED_VARIABLES)[number];

/** Variables with a prefix and a name: a request header, a cookie, a query argument. */
const PREFIXED_VARIABLES = ['http_', 'cookie_', 'arg_'] as const;

const NAMED: ReadonlySet<string> = new Set(NAMED_VARIABLES);
// `$name` or `${name}`; names are nginx's: letters, digits and underscores.
const VARIABLE = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;

export type Template = (string | { variable: string })[];

/** Splits a value into text and variables; `unknown` lists the variable names Portico does not have. */
export function parseTemplate(value: string): { parts: Template; unknown: string[] } {
  const parts: Template = [];
  const unknown: string[] = [];
  let last = 0;
  for (const m of value.matchAll(VARIABLE)) {
    const name = (m[1] ?? m[2])!;
    if (m.index > last) parts.push(value.slice(last, m.index));
    parts.push({ variable: name });
    if (!NAMED.has(name) && !PREFIXED_VARIABLES.some((p) => name.startsWith(p) && name.length > p.length)) unknown.push(name);
    last = m.index + m[0].length;
  }
  if (last < value.length) parts.push(value.slice(last));
  return { parts, unknown };
}
