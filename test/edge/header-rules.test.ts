// A route's header rules (snippets) at the edge, in process: what decide() hands the forwarders for a table built by
// the real compiler, how the response additions apply to raw header lists (withResponseAdditions: order of the
// headers-more filter before add_header, the status rule of add_header, wildcards), the access gate's own answers
// carrying them, and validate() refusing a malformed rule.
import { describe, expect, it } from 'vitest';
import { type GateRequest, runGate } from '../../gateway/access/gate.ts';
import { decide, type RequestFacts } from '../../gateway/decide.ts';
import { headerEffects } from '../../gateway/header-rules.ts';
import type { LiveTable } from '../../gateway/live.ts';
import { withResponseAdditions } from '../../gateway/proxy/headers.ts';
import { compileMatcher } from '../../gateway/table/match.ts';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

const CONF = 'nginx.ingress.kubernetes.io/configuration-snippet';

function tableWith(snippet: string | null, ready = true): RoutingTable {
  return compile(
    objects(
      ourClass(),
      ...service('web', [{ address: '10.0.0.1', port: 8080, ready }]),
      ingress('web', {
        host: 'app.test',
        paths: [{ path: '/', service: 'web' }],
        annotations: snippet === null ? {} : { [CONF]: snippet },
      }),
    ),
  ).table;
}
const facts = (): RequestFacts => ({ host: 'app.test', path: '/', search: '', scheme: 'http', clientIp: '192.0.2.1', localPort: 80 });
const live = (t: RoutingTable): Pick<LiveTable, 'current'> =>
  ({ current: { matcher: compileMatcher(t) } }) as unknown as Pick<LiveTable, 'current'>;

describe('decide(): the forward verdict carries the rules', () => {
  const cases: {
    name: string;
    snippet: string;
    upstream?: [string, string | null][];
    always?: [string, string][];
    onSuccess?: [string, string][];
  }[] = [
    { name: 'proxy_set_header → set on the upstream request', snippet: 'proxy_set_header X-A 1;', upstream: [['x-a', '1']] },
    { name: 'proxy_set_header "" → removed from it', snippet: 'proxy_set_header X-A "";', upstream: [['x-a', null]] },
    { name: 'more_set_headers → on every answer', snippet: "more_set_headers 'X-B: 2';", upstream: undefined, always: [['x-b', '2']] },
    { name: 'add_header → 2xx/3xx only', snippet: 'add_header X-C 3;', onSuccess: [['x-c', '3']], always: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(live(tableWith(c.snippet)), facts(), null);
      if (d.kind !== 'forward') throw new Error(`expected forward, got ${d.kind}`);
      expect(d.upstreamHeaders).toEqual(c.upstream);
      if (c.always !== undefined) expect(d.responseHeaders?.always).toEqual(c.always);
      if (c.onSuccess !== undefined) expect(d.responseHeaders?.onSuccess).toEqual(c.onSuccess);
    });
  }
  it('no ready endpoint: 503, never a peer cluster (whose answer would not carry the rules)', () => {
    const peer = { cluster: 'b', live: live(tableWith(null)) };
    expect(decide(live(tableWith("more_set_headers 'X-B: 2';", false)), facts(), null, [peer])).toMatchObject({
      kind: 'status',
      status: 503,
    });
    // Without rules the same request goes to the peer.
    expect(decide(live(tableWith(null, false)), facts(), null, [peer])).toMatchObject({ kind: 'forward', cluster: 'b' });
  });
  it('a refused snippet: 503, nothing forwarded', () => {
    expect(decide(live(tableWith('more_set_headers "X: $host";')), facts(), null)).toMatchObject({ kind: 'status', status: 503 });
  });
});

describe('withResponseAdditions with a route’s rules (raw header lists)', () => {
  const effects = headerEffects({
    response: {
      remove: ['server', 'x-hidden-*'],
      set: [['x-frame-options', 'DENY']],
      add: [['x-added', 'yes']],
      addAlways: [['x-always', 'yes']],
    },
  }).response;
  const upstream = [
    'Server',
    'app/1',
    'X-Hidden-A',
    '1',
    'X-Frame-Options',
    'SAMEORIGIN',
    'X-Added',
    'up',
    'Content-Length',
    '2',
    'X-Kept',
    'k',
  ];
  const rows: { name: string; status: number; want: string[] }[] = [
    {
      name: '200: removals and the replaced name go, set and add_header follow (headers-more before add_header)',
      status: 200,
      want: ['X-Added', 'up', 'Content-Length', '2', 'X-Kept', 'k', 'x-frame-options', 'DENY', 'x-always', 'yes', 'x-added', 'yes'],
    },
    {
      name: '404: add_header without always is left out',
      status: 404,
      want: ['X-Added', 'up', 'Content-Length', '2', 'X-Kept', 'k', 'x-frame-options', 'DENY', 'x-always', 'yes'],
    },
  ];
  for (const r of rows) it(r.name, () => expect(withResponseAdditions(upstream, effects, r.status)).toEqual(r.want));
  it('a wildcard never takes Content-Length (the edge frames the answer by it)', () => {
    const e = headerEffects({ response: { remove: ['content-*'] } }).response;
    expect(withResponseAdditions(['Content-Length', '2', 'Content-Type', 'text/plain'], e, 200)).toEqual(['Content-Length', '2']);
  });
});

describe("the access gate's own answers carry the route's rules (nginx's header filters run on every answer)", () => {
  const request: GateRequest = {
    httpHost: 'app.test',
    scheme: 'http',
    method: 'GET',
    path: '/',
    search: '',
    clientIp: '192.0.2.1',
    localPort: 80,
    header: () => null,
    headers: [],
    requestId: 'rid',
    scope: 'default/web app.test /',
  };
  const route = headerEffects({
    response: { set: [['x-frame-options', 'DENY']], add: [['x-added', 'yes']], addAlways: [['x-always', 'yes']] },
  }).response;
  it('a 503 from a rate limit: more_set_headers and add_header always, not add_header', async () => {
    const policy = { limits: { rps: { rate: 1, burst: 0 } } };
    await runGate(policy, { ...request, scope: 'rules-test' }, {}, route);
    const o = await runGate(policy, { ...request, scope: 'rules-test' }, {}, route);
    if (o.kind !== 'respond') throw new Error('expected the limit to answer');
    expect(o.status).toBe(503);
    expect(o.headers).toEqual([
      ['x-frame-options', 'DENY'],
      ['x-always', 'yes'],
    ]);
  });
});

describe('validate(): a malformed rule refuses the table', () => {
  const base = tableWith("more_set_headers 'X-B: 2';");
  const rows: { name: string; rules: unknown; problem: RegExp }[] = [
    { name: 'an unknown field', rules: { response: { set: [['x-b', '2']] }, other: 1 }, problem: /headerRules\.other: unknown field/ },
    { name: 'an empty object', rules: {}, problem: /must not be empty/ },
    { name: 'a framing header', rules: { response: { set: [['content-length', '2']] } }, problem: /frames the message/ },
    { name: 'an edge request header', rules: { request: { set: [['x-forwarded-for', '1.2.3.4']] } }, problem: /set by the edge itself/ },
    { name: 'a CR LF in a value', rules: { response: { add: [['x-a', 'a\r\nb: c']] } }, problem: /visible ASCII/ },
    {
      name: 'unsorted set',
      rules: {
        response: {
          set: [
            ['x-b', '1'],
            ['x-a', '2'],
          ],
        },
      },
      problem: /sorted and distinct/,
    },
    { name: 'a name both set and removed', rules: { request: { set: [['x-a', '1']], remove: ['x-a'] } }, problem: /is also set/ },
    { name: 'a wildcard on the request side', rules: { request: { remove: ['x-*'] } }, problem: /holds a "\*"/ },
    { name: 'upper-case names', rules: { response: { set: [['X-B', '2']] } }, problem: /not a header name/ },
  ];
  for (const r of rows) {
    it(r.name, () => {
      const t = structuredClone(base);
      (t.hosts[0]!.routes[0]!.policies as unknown as Record<string, unknown>).headerRules = r.rules;
      const problems = validate(t, { checkHash: false }).map((p) => `${p.at}: ${p.message}`);
      expect(problems.join('\n')).toMatch(r.problem);
    });
  }
  it('a table with rules stamped schema 5 is refused (an older worker must not read it)', () => {
    const t = structuredClone(base);
    t.schema = 5;
    expect(
      validate(t, { checkHash: false })
        .map((p) => p.message)
        .join('\n'),
    ).toMatch(/schema/);
  });
  it('the compiled table is valid and schema 6', () => {
    expect(base.schema).toBe(6);
    expect(validate(base)).toEqual([]);
  });
});
