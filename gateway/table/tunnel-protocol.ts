// The node-local tunnel's wire contract, shared by the workers that send and the tunnel that relays (so it
// lives with the rest of the contract). A worker sends the tunnel an ordinary HTTP/1.1 request,
// exactly as it would send it upstream (Host, X-Forwarded-*, body), plus one header naming the endpoint to
// dial. The tunnel dials only endpoints of the current verified table: that header is the only thing a
// caller controls, so it is checked against the table, never resolved as a name, never trusted as is.
import type { Endpoint, RoutingTable } from './schema.ts';
import { PorticoError } from './portico-error.ts';

/** `address:port`, IPv6 in brackets: how an endpoint is named on the wire, and the pool key, URL authority and
 * error label everywhere else. */
export function endpointKey(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Every header of the tunnel protocol starts with this; no such header ever reaches an application or a client. */
export const TUNNEL_HEADER_PREFIX = 'portico-';

/** Where the tunnel listens: a Unix socket, or a loopback port (runtimes without Unix sockets). */
export type TunnelAddress = { path: string } | { host: string; port: number };

/** Request header: the `address:port` (IPv6 as `[addr]:port`) to dial. Never forwarded upstream. */
export const ENDPOINT_HEADER = 'portico-endpoint';
/** Request header, worker → node-local tunnel: send this request to that peer cluster (with BACKEND_HEADER). */
export const PEER_HEADER = 'portico-peer';
/** Request header: the backend id (`namespace/service:port`) a peer cluster's gateway should pick an endpoint of. */
export const BACKEND_HEADER = 'portico-backend';
/** Request header, tunnel → peer gateway: the peer token (the tunnel's peer-token.ts). */
export const PEER_TOKEN_HEADER = 'portico-peer-token';
const BACKEND_ID = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?:[A-Za-z0-9-]{1,63}$/;

export function isBackendId(value: string | undefined): value is string {
  return value !== undefined && value.length <= 400 && BACKEND_ID.test(value);
}

/** Response header on the tunnel's own 502/504: the upstream error code (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT,
 * ...), so the worker classifies it as if it had dialled itself and fails over to the next endpoint. */
export const ERROR_HEADER = 'portico-tunnel-error';

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-f:.]+$/i;

/** `address:port` with a literal IP address and a port, canonical as endpointKey writes it; else null. */
export function parseEndpoint(value: string | undefined): { address: string; port: number; key: string } | null {
  if (value === undefined || value.length > 64) return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(value);
  if (m === null) return null;
  const address = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  if (m[2] !== undefined ? !IPV4.test(address) : !IPV6.test(address) || !address.includes(':')) return null;
  const key = endpointKey({ address, port, zone: null });
  return key === value ? { address, port, key } : null;
}

/** Every endpoint the table names: the only addresses the tunnel may dial while this table is current. */
export function allowedEndpoints(table: RoutingTable): Set<string> {
  const out = new Set<string>();
  for (const b of table.backends) for (const e of b.endpoints) out.add(endpointKey(e));
  return out;
}

/** The endpoints a worker may ask the tunnel for a raw TCP stream to (HTTP CONNECT with ENDPOINT_HEADER, for
 * ssl-passthrough): those of the backends a host's `passthrough` names, and no others, so the tunnel never opens a
 * raw stream to an endpoint the table only reaches over HTTP. */
export function passthroughEndpoints(table: RoutingTable): Set<string> {
  const ids = new Set<string>();
  for (const h of table.hosts) if (h.passthrough?.backend) ids.add(h.passthrough.backend);
  const out = new Set<string>();
  for (const b of table.backends) if (ids.has(b.id)) for (const e of b.endpoints) out.add(endpointKey(e));
  return out;
}

/** What the tunnel reported instead of an upstream response; `code` is the upstream error code it saw. */
export class TunnelReportedError extends PorticoError {
  constructor(readonly code: string) {
    super(`the node-local tunnel reported ${code}`);
  }
}

/** The tunnel's error report in a response's raw headers (undici's flat name/value list), or null. */
export function tunnelErrorOf(raw: readonly (Buffer | string)[]): TunnelReportedError | null {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toString('latin1').toLowerCase() === ERROR_HEADER)
      return new TunnelReportedError(raw[i + 1]!.toString('latin1').slice(0, 64));
  }
  return null;
}
