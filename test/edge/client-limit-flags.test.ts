// The client limit flags as `portico local` and `portico worker` parse them (cli/serve.ts): nginx's defaults when
// absent, nginx's size syntax for the body buffer. Bad values are usage errors (exit status 2; the command-line
// cases are in test/e2e/cli.test.ts).
import { describe, expect, it } from 'vitest';
import { byteSize } from '../../cli/byte-size.ts';
import { parseServeFlags } from '../../cli/serve.ts';
import { UsageError } from '../../cli/usage-error.ts';

describe('client limit flags', () => {
  it.each([
    [
      'no flags: nginx defaults (60s, 60s, 75s) and a 64 KiB body buffer',
      {},
      { headerTimeoutMs: 60_000, keepAliveTimeoutMs: 75_000, body: { timeoutMs: 60_000, bufferSize: 65_536 } },
    ],
    [
      'every flag set',
      { 'client-header-timeout': '10s', 'client-body-timeout': '500ms', 'client-body-buffer-size': '1m', 'keepalive-timeout': '2m' },
      { headerTimeoutMs: 10_000, keepAliveTimeoutMs: 120_000, body: { timeoutMs: 500, bufferSize: 1_048_576 } },
    ],
    ['a body buffer of 0: every body streams', { 'client-body-buffer-size': '0' }, { body: { timeoutMs: 60_000, bufferSize: 0 } }],
  ])('%s', (_name, flags, expected) => {
    expect(parseServeFlags(flags).clientLimits).toMatchObject(expected);
  });
});

describe('byteSize (nginx size syntax)', () => {
  it.each([
    ['bytes', '8192', 8192],
    ['k', '16k', 16_384],
    ['K', '16K', 16_384],
    ['m', '1m', 1_048_576],
    ['the maximum', '16m', 16_777_216],
  ])('%s: %s is %i bytes', (_name, value, bytes) => {
    expect(byteSize('client-body-buffer-size', value, 16 * 1024 * 1024)).toBe(bytes);
  });
  it.each([
    ['a unit nginx lacks', '1g'],
    ['a fraction', '1.5m'],
    ['a negative size', '-1'],
    ['empty', ''],
    ['over the maximum', '16385k'],
  ])('%s (%s) is a usage error', (_name, value) => {
    expect(() => byteSize('client-body-buffer-size', value, 16 * 1024 * 1024)).toThrow(UsageError);
  });
});
