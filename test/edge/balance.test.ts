// Endpoint choice: where each request to a backend goes first. Round-robin per backend id, so load spreads
// over every ready endpoint, a table swap does not send the next burst to the first endpoint again, and an
// endpoint list that shrank never yields an index past its end. Plus the endpoint key every pool, URL and
// tunnel header uses.
import { describe, expect, it } from 'vitest';
import { RoundRobin } from '../../gateway/balance.ts';
import type { Backend, Endpoint } from '../../gateway/table/schema.ts';
import { endpointKey } from '../../gateway/table/tunnel-protocol.ts';

/** A backend `id` with `n` ready endpoints (a fresh object each time, as after a table swap). */
function backend(id: string, n: number): Backend {
  const endpoints: Endpoint[] = Array.from({ length: n }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 8080, zone: null }));
  return { id, service: { namespace: 'default', name: id, port: 80 }, endpoints, notReady: 0 };
}

/** `['start', id, n]`: one request to backend `id`, which now has `n` endpoints (its result is recorded);
 * `['retain', ids]`: a table swap that keeps only these backends. */
type Step = ['start', string, number] | ['retain', string[]];

interface Case {
  name: string;
  steps: Step[];
  /** The first index tried by each `start`, in order. */
  want: number[];
}

const starts = (id: string, n: number, times: number): Step[] => Array.from({ length: times }, () => ['start', id, n] as Step);

const CASES: Case[] = [
  { name: 'one endpoint: always it', steps: starts('a', 1, 3), want: [0, 0, 0] },
  { name: 'three endpoints: each in turn, then again from the first', steps: starts('a', 3, 7), want: [0, 1, 2, 0, 1, 2, 0] },
  {
    name: 'each backend has its own rotation',
    steps: [
      ['start', 'a', 3],
      ['start', 'b', 2],
      ['start', 'a', 3],
      ['start', 'b', 2],
      ['start', 'a', 3],
      ['start', 'b', 2],
    ],
    want: [0, 0, 1, 1, 2, 0],
  },
  {
    name: 'a table swap that keeps the backend keeps its place (no burst on the first endpoint)',
    steps: [...starts('a', 3, 2), ['retain', ['a', 'b']], ...starts('a', 3, 2)],
    want: [0, 1, 2, 0],
  },
  {
    name: 'a swap that drops the backend forgets it: if it comes back, it starts from the first endpoint',
    steps: [...starts('a', 3, 2), ['retain', ['b']], ...starts('a', 3, 2)],
    want: [0, 1, 0, 1],
  },
  {
    name: 'forgetting one backend leaves the others in place',
    steps: [
      ['start', 'a', 3],
      ['start', 'b', 3],
      ['retain', ['b']],
      ['start', 'a', 3],
      ['start', 'b', 3],
    ],
    want: [0, 0, 0, 1],
  },
  {
    name: 'the endpoint list shrank below the saved place: the first endpoint, then every endpoint evenly',
    steps: [...starts('a', 4, 3), ...starts('a', 2, 5)],
    want: [0, 1, 2, 0, 0, 1, 0, 1],
  },
  {
    name: 'the endpoint list grew: the rotation goes on into the new endpoints',
    steps: [...starts('a', 2, 1), ...starts('a', 4, 4)],
    want: [0, 1, 2, 3, 0],
  },
];

describe('RoundRobin: the endpoint a request tries first', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const rr = new RoundRobin();
      const got: number[] = [];
      for (const s of c.steps) {
        if (s[0] === 'retain') rr.retain(new Set(s[1]));
        else {
          const i = rr.start(backend(s[1], s[2]));
          // An index past the end would make the forwarder dial `undefined`.
          expect(i).toBeGreaterThanOrEqual(0);
          expect(i).toBeLessThan(s[2]);
          got.push(i);
        }
      }
      expect(got).toEqual(c.want);
    });
  }
});

interface KeyCase {
  name: string;
  endpoint: Endpoint;
  want: string;
}

const KEYS: KeyCase[] = [
  { name: 'IPv4: address:port', endpoint: { address: '10.0.0.1', port: 8080, zone: null }, want: '10.0.0.1:8080' },
  {
    name: 'IPv6: in brackets, so the port is not read as part of the address (RFC 3986 3.2.2)',
    endpoint: { address: 'fd00:10:244::7', port: 80, zone: null },
    want: '[fd00:10:244::7]:80',
  },
  { name: 'IPv6 loopback', endpoint: { address: '::1', port: 443, zone: null }, want: '[::1]:443' },
  {
    name: 'IPv4-mapped IPv6 is IPv6 (brackets)',
    endpoint: { address: '::ffff:10.0.0.1', port: 80, zone: null },
    want: '[::ffff:10.0.0.1]:80',
  },
  {
    name: 'the topology zone is not part of the key',
    endpoint: { address: '10.0.0.1', port: 80, zone: 'eu-west-1a' },
    want: '10.0.0.1:80',
  },
];

describe('endpointKey(): the name of an endpoint in pools, URLs and the tunnel header', () => {
  for (const c of KEYS) {
    it(c.name, () => {
      expect(endpointKey(c.endpoint)).toBe(c.want);
    });
  }
});
