// Headers a tunnel hop passes on: the next hop's request or response headers, with this hop's own removed.
import { downstreamResponseHeaders } from '../proxy/headers.ts';
import { TUNNEL_HEADER_PREFIX } from '../table/tunnel-protocol.ts';

/** A request's headers for the next hop: minus this hop's hop-by-hop headers and every portico-* header (the
 * tunnel protocol's own: they never reach an application), plus `extra`. */
export function relayedHeaders(raw: readonly string[], extra: readonly string[] = []): string[] {
  const kept = downstreamResponseHeaders(raw);
  const out: string[] = [];
  for (let i = 0; i < kept.length; i += 2) if (!kept[i]!.toLowerCase().startsWith(TUNNEL_HEADER_PREFIX)) out.push(kept[i]!, kept[i + 1]!);
  for (const h of extra) out.push(h);
  return out;
}
