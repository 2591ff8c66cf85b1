// The Node worker's access line (gateway/runtime/node-access-sink.ts) is built by hand: it must be the JSON pino wrote
// before (`"log":"access"` first, then the entry), for any field contents a request can bring.
import { describe, expect, it } from 'vitest';
import type { AccessEntry } from '../../gateway/access-log.ts';
import { accessLine } from '../../gateway/runtime/node-access-sink.ts';

const base: AccessEntry = {
  time: '2026-12-07T18:00:00.123Z',
  client: '198.51.100.9',
  method: 'GET',
  host: 'app.test',
  path: '/',
  protocol: 'HTTP/1.1',
  status: 200,
  bytesIn: 0,
  bytesOut: 312,
  durationMs: 1.234,
  upstream: '10.0.0.7:8080',
  upstreamStatus: 200,
  upstreamMs: 0.987,
  route: 'default/site app.test /',
  requestId: '00112233445566778899aabbccddeeff',
  tls: 'TLSv1.3',
  sni: 'app.test',
};

describe('access line: the same JSON as the entry after "log":"access"', () => {
  it.each([
    { name: 'a proxied request', entry: base },
    { name: 'no upstream (the gateway answered)', entry: { ...base, upstream: null, upstreamStatus: null, upstreamMs: null } },
    { name: 'plain HTTP: no TLS fields', entry: { ...base, tls: null, sni: null } },
    { name: 'quotes, backslashes and control bytes in the host and path', entry: { ...base, host: 'a"b\\c', path: '/x\u0001y\n"z' } },
    { name: 'non-ASCII and a lone surrogate in the path', entry: { ...base, path: '/caf\u00e9/\ud800' } },
    { name: 'a client that left (499), nothing written', entry: { ...base, status: 499, bytesOut: 0, durationMs: 0 } },
  ])('$name', ({ entry }) => {
    const line = accessLine(entry);
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1); // one line, whatever the fields hold
    expect(line.slice(0, -1)).toBe(JSON.stringify({ log: 'access', ...entry }));
  });

  it('a number JSON has no form for is written as null, as JSON.stringify writes it', () => {
    expect(JSON.parse(accessLine({ ...base, durationMs: Number.NaN, upstreamMs: Number.POSITIVE_INFINITY }))).toMatchObject({
      durationMs: null,
      upstreamMs: null,
    });
  });
});
