// The JWK Sets named by portico.dev/auth-jwt-jwks-url, fetched by the agent (never by a worker: the keys travel
// inside the signed table). Each fetch has a timeout and a size limit and follows no redirect (a redirect could
// lead from https to plain http); a fetch that fails keeps the last good body, so an identity provider that is
// down for a while does not close the routes. Only a URL that never answered well has no keys (503).
// The compiler gets the results as plain data (JwksDocument), so it stays free of I/O.
import { MAX_JWKS_BYTES } from '../compile/jwt-keys.ts';
import type { JwksDocument } from '../compile/types.ts';

export interface JwksUrlOptions {
  /** Per fetch, connect to last byte. */
  timeoutMs?: number;
  maxBytes?: number;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** For tests: the fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** Reads at most `max` bytes of a body; null when it is longer. */
async function readLimited(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel();
    return null;
  }
  const reader = res.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export class JwksUrls {
  /** By URL: the last good body and the last error (cleared by a good fetch). */
  private readonly known = new Map<string, { body?: string; error?: string }>();

  constructor(private readonly o: JwksUrlOptions) {}

  /** What the compiler reads. */
  documents(): JwksDocument[] {
    return [...this.known.entries()].map(([url, d]) => ({
      url,
      ...(d.body === undefined ? {} : { body: d.body }),
      ...(d.error === undefined ? {} : { error: d.error }),
    }));
  }

  /** One fetch: the body of a 200, or why there is none. Error texts name the kind of failure only: they become
   * diagnostics (Events) that Ingress authors read, and must not echo what an internal address answered. */
  private async fetchOne(url: string): Promise<{ body: string } | { error: string }> {
    const f = this.o.fetch ?? fetch;
    try {
      const res = await f(url, {
        redirect: 'manual',
        headers: { accept: 'application/jwk-set+json, application/json' },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        return { error: `HTTP ${res.status}` };
      }
      const body = await readLimited(res, this.o.maxBytes ?? MAX_JWKS_BYTES);
      return body === null ? { error: `the answer is larger than ${this.o.maxBytes ?? MAX_JWKS_BYTES} bytes` } : { body };
    } catch (err) {
      const name = (err as Error).name;
      return { error: name === 'TimeoutError' || name === 'AbortError' ? 'timed out' : 'the connection failed' };
    }
  }

  /** Fetches the URLs of `urls` (only those not fetched yet unless `all`), forgets the others; true when what the
   * compiler would see changed. */
  async refresh(urls: ReadonlySet<string>, all: boolean): Promise<boolean> {
    let changed = false;
    for (const url of [...this.known.keys()]) {
      if (urls.has(url)) continue;
      this.known.delete(url);
      changed = true;
    }
    const due = [...urls].filter((u) => all || !this.known.has(u));
    const results = await Promise.all(due.map(async (url) => [url, await this.fetchOne(url)] as const));
    for (const [url, r] of results) {
      const before = this.known.get(url);
      let next: { body?: string; error?: string };
      if ('body' in r) next = { body: r.body };
      else {
        this.o.log(
          'warn',
          `fetching the JWK Set ${url} failed (${r.error})${before?.body === undefined ? '' : '; the last good keys stay'}`,
        );
        // Keep the last good keys: the compiler uses the body and ignores the error when both are there.
        next = before?.body === undefined ? { error: r.error } : { body: before.body };
      }
      if (before === undefined || before.body !== next.body || before.error !== next.error) changed = true;
      this.known.set(url, next);
    }
    return changed;
  }
}
