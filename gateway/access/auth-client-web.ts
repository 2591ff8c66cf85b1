// The auth subrequest on runtimes with fetch() (Deno, workerd): one timeout for the whole answer (fetch has no
// separate connect timeout), redirects never followed, the body dropped.
import type { FetchLike } from '../proxy/web-forwarder.ts';
import type { AuthClient } from './external-auth.ts';

export function webAuthClient(fetchFn: FetchLike, timeoutMs: number): AuthClient {
  return async (r) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const res = await fetchFn(r.url, { method: r.method, headers: r.headers, redirect: 'manual', signal: abort.signal });
      await res.body?.cancel();
      const headers: [string, string][] = [];
      res.headers.forEach((value, name) => {
        if (name !== 'set-cookie') headers.push([name, value]);
      });
      for (const c of res.headers.getSetCookie()) headers.push(['set-cookie', c]);
      return { status: res.status, headers };
    } finally {
      clearTimeout(timer);
    }
  };
}
