// Headers that belong to one hop of an HTTP exchange and never cross a proxy (RFC 9110 §7.6.1), in either
// direction: the proxy's own request rules and the auth subrequest both leave them out.
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // undici refuses `expect`; Node's server already answered `100 Continue` to the client.
  'expect',
  // HTTP/2 only: a `http2-settings` header belongs to the h2c upgrade of one connection.
  'http2-settings',
]);
