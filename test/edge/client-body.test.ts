// readClientBody (gateway/proxy/client-body.ts) on an in-memory stream: which kind of body a request has once it is
// known (whole within the buffer, streamed past it, refused), and the client body timeout between two reads.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type ClientBody, ClientBodyTimeoutError, readClientBody } from '../../gateway/proxy/client-body.ts';

const LIMITS = { timeoutMs: 200, bufferSize: 8 };

/** Feeds `chunks` (strings; `null`: end, `'close'`: the stream is destroyed), each `gapMs` apart, and resolves with
 * the outcome and, for a streamed body, everything it yields. */
async function outcome(
  chunks: (string | null)[],
  o: { gapMs?: number; limit?: number; declared?: number; bufferSize?: number; closeAfter?: boolean } = {},
): Promise<{ kind: ClientBody['kind']; body?: string; error?: unknown }> {
  const s = new PassThrough();
  const got = new Promise<ClientBody>((resolve) =>
    readClientBody(s, { ...LIMITS, bufferSize: o.bufferSize ?? LIMITS.bufferSize }, o.limit ?? 0, o.declared, { onBody: resolve }),
  );
  void (async () => {
    for (const c of chunks) {
      if (c === null) s.end();
      else s.write(c);
      await new Promise((r) => setTimeout(r, o.gapMs ?? 0));
    }
    if (o.closeAfter === true) s.destroy();
  })();
  const r = await got;
  if (r.kind === 'whole') return { kind: r.kind, body: r.body.toString() };
  if (r.kind !== 'stream') return { kind: r.kind };
  let body = '';
  try {
    for await (const c of r.body) body += c.toString();
  } catch (error) {
    return { kind: r.kind, body, error };
  }
  return { kind: r.kind, body };
}

describe('readClientBody', () => {
  it.each([
    ['a body within the buffer, in pieces: whole', ['ab', 'cd', null], {}, { kind: 'whole', body: 'abcd' }],
    ['a body of exactly the buffer size: whole', ['12345678', null], {}, { kind: 'whole', body: '12345678' }],
    [
      'one byte past the buffer: streamed, buffered part first',
      ['12345678', '9', 'more', null],
      {},
      { kind: 'stream', body: '123456789more' },
    ],
    ['a declared length over the buffer: streamed at once', ['ab', null], { declared: 100 }, { kind: 'stream', body: 'ab' }],
    ['buffer size 0: every body streamed at once', ['ab', null], { bufferSize: 0 }, { kind: 'stream', body: 'ab' }],
    ['over proxy-body-size while buffering: too large', ['1234', '567'], { limit: 6 }, { kind: 'too-large' }],
    ['the client goes away: gone', ['ab'], { closeAfter: true }, { kind: 'gone' }],
    [
      'chunks 50 ms apart under a 200 ms timeout: whole (the timeout is between reads)',
      ['a', 'b', 'c', 'd', 'e', 'f', null],
      { gapMs: 50 },
      { kind: 'whole', body: 'abcdef' },
    ],
  ] as const)('%s', async (_name, chunks, o, expected) => {
    expect(await outcome([...chunks], o)).toEqual(expected);
  });

  it('silence while buffering: timeout after the client body timeout', async () => {
    const started = performance.now();
    const r = await outcome(['ab']);
    expect(r.kind).toBe('timeout');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('silence while streaming: the stream throws ClientBodyTimeoutError after what arrived', async () => {
    const r = await outcome(['123456789', 'x']);
    expect(r.kind).toBe('stream');
    expect(r.body).toBe('123456789x');
    expect(r.error).toBeInstanceOf(ClientBodyTimeoutError);
    expect((r.error as ClientBodyTimeoutError).code).toBe('PORTICO_CLIENT_BODY_TIMEOUT');
  });
});
