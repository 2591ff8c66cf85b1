// The HTTP/2 and upstream pool flags of `portico local` / `portico worker`: defaults, accepted values and the
// one-line usage error (exit status 2) for each bad one.
import { describe, expect, it } from 'vitest';
import { parseServeFlags } from '../../cli/serve.ts';
import { UsageError } from '../../cli/usage-error.ts';

describe('edge limit flags', () => {
  it('defaults: nginx http2_max_concurrent_streams 128, 100 resets per 10 s, 256 connections, 5 s queue', () => {
    const c = parseServeFlags({});
    expect(c.http2).toEqual({ maxConcurrentStreams: 128, maxResets: 100, resetWindowMs: 10_000 });
    expect(c.upstreamPool).toEqual({ maxConnections: 256, queueTimeoutMs: 5_000 });
  });

  const accepted: { name: string; flags: Record<string, string>; http2?: object; pool?: object }[] = [
    { name: 'streams 1', flags: { 'http2-max-concurrent-streams': '1' }, http2: { maxConcurrentStreams: 1 } },
    { name: 'resets off', flags: { 'http2-max-resets': '0' }, http2: { maxResets: 0 } },
    { name: 'no connection cap', flags: { 'upstream-max-connections': '0' }, pool: { maxConnections: 0 } },
    { name: 'queue 250ms', flags: { 'upstream-queue-timeout': '250ms' }, pool: { queueTimeoutMs: 250 } },
    { name: 'queue off', flags: { 'upstream-queue-timeout': '0' }, pool: { queueTimeoutMs: 0 } },
  ];
  for (const k of accepted)
    it(`accepts ${k.name}`, () => {
      const c = parseServeFlags(k.flags);
      if (k.http2) expect(c.http2).toMatchObject(k.http2);
      if (k.pool) expect(c.upstreamPool).toMatchObject(k.pool);
    });

  const refused: { name: string; flags: Record<string, string>; message: RegExp }[] = [
    {
      name: 'streams 0',
      flags: { 'http2-max-concurrent-streams': '0' },
      message: /^--http2-max-concurrent-streams: expected a whole number from 1/,
    },
    { name: 'streams too many', flags: { 'http2-max-concurrent-streams': '2147483648' }, message: /--http2-max-concurrent-streams/ },
    { name: 'resets negative', flags: { 'http2-max-resets': '-1' }, message: /^--http2-max-resets: expected a whole number from 0/ },
    { name: 'connections not a number', flags: { 'upstream-max-connections': 'many' }, message: /^--upstream-max-connections: / },
    {
      name: 'queue without unit junk',
      flags: { 'upstream-queue-timeout': '5 s' },
      message: /^--upstream-queue-timeout: expected a duration/,
    },
  ];
  for (const k of refused)
    it(`refuses ${k.name} with one line and exit status 2`, () => {
      let err: unknown;
      try {
        parseServeFlags(k.flags);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).message).toMatch(k.message);
      expect((err as UsageError).message).not.toContain('\n');
    });
});
