// The auth subrequest on Node: undici with its own connection pool per auth service and the upstream
// timeouts (connect, then the answer's headers). The answer's body is read and dropped: only status and
// headers matter (nginx auth_request ignores the body too).
import { Agent } from '../proxy/undici-parts.ts';
import type { AuthClient } from './external-auth.ts';

export function nodeAuthClient(t: { connectMs: number; headersMs: number }): { client: AuthClient; close(): Promise<void> } {
  const agent = new Agent({ connect: { timeout: t.connectMs }, headersTimeout: t.headersMs, bodyTimeout: t.headersMs });
  const client: AuthClient = async (r) => {
    const u = new URL(r.url);
    const res = await agent.request({
      origin: u.origin,
      path: `${u.pathname}${u.search}`,
      method: r.method as 'GET',
      headers: r.headers.flat(),
    });
    await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) headers.push([name.toLowerCase(), v]);
    }
    return { status: res.statusCode, headers };
  };
  return { client, close: () => agent.close() };
}
