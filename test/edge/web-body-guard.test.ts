// The Web forwarder's body-silence timer (bodyMs): createWebGatewayApp with a fetch() whose answers are streams the
// test controls (chunks, then silence or the end), as Deno's and workerd's fetch() hand them over. The upstream side
// is a stand-in Response here (a fake, named as such): what is checked is what the client reads, which the real
// runtimes' shared request table (test/runtimes) checks again end to end for chunked bodies.
import { describe, expect, it } from 'vitest';
import { LiveTable } from '../../gateway/live.ts';
import { Metrics } from '../../gateway/metrics.ts';
import { WHOLE_BODY_MAX } from '../../gateway/proxy/web-forwarder.ts';
import { createWebGatewayApp } from '../../gateway/runtime/web.ts';
import { compile } from '../../sync/compile/index.ts';
import { app as backendObjects, cls, ingress, objects, prefix, rule } from '../support/builders.ts';

const BODY_MS = 150;

/** A body of `chunks`, each `gapMs` after the last; `stallAfter` chunks and then silence for ever (never closed). */
function upstreamBody(chunks: string[], gapMs: number, stallAfter = Number.POSITIVE_INFINITY): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (i >= stallAfter) return new Promise<void>(() => {}); // silent: no chunk, no end
      if (i > 0) await new Promise((r) => setTimeout(r, gapMs));
      if (i < chunks.length) ctl.enqueue(new TextEncoder().encode(chunks[i++]!));
      else ctl.close();
    },
  });
}

function gateway(
  answer: () => Response,
  o: { sendMs?: number; keepLength?: (length: number) => TransformStream<Uint8Array, Uint8Array> } = {},
) {
  const live = new LiveTable();
  const r = compile(
    objects(cls(), backendObjects('web', ['10.0.0.7']), ingress('site', { rules: [rule('app.test', prefix('/', 'web'))] })),
  );
  live.swap(r.table, r.certificates, { basicAuth: r.basicAuth });
  const errors: string[] = [];
  const signals: AbortSignal[] = [];
  const app = createWebGatewayApp({
    live,
    metrics: new Metrics(),
    ports: { http: 80, https: 443 },
    fetch: async (_url, init) => {
      if (init.signal) signals.push(init.signal);
      return answer();
    },
    ...o,
    decodesBodies: false,
    headersMs: 1_000,
    bodyMs: BODY_MS,
    onUpstreamError: (e) => errors.push(e.code),
    facts: (c) => ({
      host: c.req.header('host') ?? '',
      path: new URL(c.req.url).pathname,
      search: '',
      scheme: 'http',
      clientIp: '198.51.100.9',
      localPort: 80,
      tlsClient: null,
    }),
  });
  return { app, errors, signals };
}

/** What the client reads: the whole text, or the text up to the break and the break. */
async function read(res: Response): Promise<{ text: string; broken: boolean }> {
  const reader = res.body!.getReader();
  let text = '';
  for (;;) {
    try {
      const r = await reader.read();
      if (r.done) return { text, broken: false };
      text += new TextDecoder().decode(r.value);
    } catch {
      return { text, broken: true };
    }
  }
}

const declared = (body: ReadableStream<Uint8Array>, length: number | null) =>
  new Response(body, { status: 200, headers: length === null ? {} : { 'content-length': String(length) } });

describe('Web forwarder: the body-silence timer', () => {
  it.each([
    {
      name: 'a small declared body in chunks with short gaps arrives whole',
      answer: () => declared(upstreamBody(['ab', 'cd', 'ef'], 40), 6),
      text: 'abcdef',
      broken: false,
    },
    {
      name: 'a small declared body that stalls mid-way (read whole, so within one timer) breaks off: not a 504, not a short answer',
      answer: () => declared(upstreamBody(['ab', 'cd', 'ef'], 10, 1), 6),
      text: '',
      broken: true,
    },
    {
      name: 'a chunked body with gaps shorter than the timer streams whole, however long it takes in all',
      answer: () => declared(upstreamBody(['a', 'b', 'c', 'd', 'e'], 100), null),
      text: 'abcde',
      broken: false,
    },
    {
      name: 'a chunked body silent longer than the timer breaks off',
      answer: () => declared(upstreamBody(['a', 'b', 'c'], 10, 2), null),
      text: 'ab',
      broken: true,
    },
    {
      name: 'a body declared larger than the whole-body bound streams, and stalls are cut the same',
      answer: () => declared(upstreamBody(['x', 'y'], 10, 1), WHOLE_BODY_MAX + 1),
      text: 'x',
      broken: true,
    },
  ])('$name', async ({ answer, text, broken }) => {
    const g = gateway(answer);
    const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
    expect(res.status).toBe(200);
    expect(await read(res)).toEqual({ text, broken });
    expect(g.errors).toEqual(broken ? ['PORTICO_UPSTREAM_TIMEOUT'] : []);
  });

  it('a client that is slow to read is not the upstream going silent', async () => {
    const g = gateway(() => declared(upstreamBody(['a', 'b', 'c'], 0), null));
    const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
    const reader = res.body!.getReader();
    let text = '';
    for (;;) {
      await new Promise((r) => setTimeout(r, BODY_MS * 2)); // the client waits between reads; the upstream is ready
      const r = await reader.read();
      if (r.done) break;
      text += new TextDecoder().decode(r.value);
    }
    expect(text).toBe('abc');
    expect(g.errors).toEqual([]);
  });

  it('a client that stops reading a streamed body is given up after the send bound: the upstream request is aborted', async () => {
    const g = gateway(() => declared(upstreamBody(['a', 'b', 'c', 'd'], 0), null), { sendMs: 200 });
    const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('a');
    await new Promise((r) => setTimeout(r, 450)); // over the 200 ms send bound, the upstream ready all along
    expect(g.signals[0]!.aborted).toBe(true);
    await expect(reader.read()).rejects.toThrow(/took no response body data for 200 ms/);
    expect(g.errors).toEqual([]); // the client's doing, not an upstream error
  });

  it('a client that reads within the send bound, however slowly in all, gets the whole body', async () => {
    const g = gateway(() => declared(upstreamBody(['a', 'b', 'c', 'd'], 0), null), { sendMs: 300 });
    const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
    const reader = res.body!.getReader();
    let text = '';
    for (;;) {
      await new Promise((r) => setTimeout(r, 150));
      const r = await reader.read();
      if (r.done) break;
      text += new TextDecoder().decode(r.value);
    }
    expect(text).toBe('abcd');
    expect(g.signals[0]!.aborted).toBe(false);
  });

  describe('where only a declared length can be cut visibly (workerd: keepLength)', () => {
    /** A keepLength that records the lengths it held bodies at. */
    const held: number[] = [];
    const keepLength = (length: number) => {
      held.push(length);
      return new TransformStream<Uint8Array, Uint8Array>();
    };

    it('a declared body that stalls is cut, through the stream that keeps its length', async () => {
      held.length = 0;
      const g = gateway(() => declared(upstreamBody(['x', 'y'], 10, 1), WHOLE_BODY_MAX + 1), { keepLength });
      const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
      expect(await read(res)).toEqual({ text: 'x', broken: true });
      expect(held).toEqual([WHOLE_BODY_MAX + 1]);
      expect(g.errors).toEqual(['PORTICO_UPSTREAM_TIMEOUT']);
    });

    it('a chunked body is not timed (a cut would pass for its end): a stall longer than the timer is not cut', async () => {
      held.length = 0;
      const g = gateway(() => declared(upstreamBody(['a', 'b'], 10, 1), null), { keepLength });
      const res = await g.app.fetch(new Request('http://gw/', { headers: { host: 'app.test' } }));
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('a');
      const next = reader.read().then(
        () => 'read',
        () => 'broken',
      );
      const outcome = await Promise.race([next, new Promise((r) => setTimeout(() => r('still waiting'), BODY_MS * 3))]);
      expect(outcome).toBe('still waiting');
      expect([held, g.errors, g.signals[0]!.aborted]).toEqual([[], [], false]);
      await reader.cancel();
    });
  });
});
