// custom-headers → the ConfigMap's entries as [name, value] pairs in the route's access policy, limited by
// --global-allowed-response-headers (ingress-nginx's global-allowed-response-headers). Cases follow
// test/e2e/annotations/customheaders.go and internal/ingress/annotations/customheaders (ValidHeader, ValidValue,
// the allowed list matched with slices.Contains); whatever ingress-nginx denies (503) fails closed here too.
import { describe, expect, it } from 'vitest';
import type { RoutingTable } from '../../gateway/table/schema.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, cls, configMap, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const KEY = `${N}custom-headers`;
const ALLOWED = { allowedResponseHeaders: ['My-Custom-Header', 'My-Custom-Header-Dollar'] };
const withHeaders = (ref: string, ...more: AnyObject[]): AnyObject[] => [
  cls(),
  ...app('web'),
  ingress('web', { annotations: { [KEY]: ref }, rules: [rule('custom-headers', prefix('/', 'web'))] }),
  ...more,
];
const E2E_CONFIGMAP = configMap('custom-headers', { 'My-Custom-Header': '42', 'My-Custom-Header-Dollar': '$remote_addr' });
const headers = (r: CompileResult): [string, string][] | undefined => r.table.hosts[0]!.routes[0]!.policies.access?.customHeaders;
const ROUTE = 'Prefix "" -> default/web:80 [default/web]';
const CLOSED = { 'custom-headers': { routes: [`${ROUTE} closed(custom-headers)`] } };

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('custom-headers', [
  {
    name: 'customheaders.go "should return status code 200 when no custom-headers is configured": no policy, schema 1',
    objects: [cls(), ...app('web'), ingress('web', { rules: [rule('custom-headers', prefix('/', 'web'))] }), E2E_CONFIGMAP],
    options: ALLOWED,
    hosts: { 'custom-headers': { routes: [ROUTE] } },
    check: (r) => expect(r.table.schema).toBe(1),
  },
  {
    name: 'customheaders.go "should set more_set_headers My-Custom-Header 42 when custom-headers are set": names as written, values literal, schema 4',
    objects: withHeaders('default/custom-headers', E2E_CONFIGMAP),
    options: ALLOWED,
    hosts: { 'custom-headers': { routes: [`${ROUTE} headers=[My-Custom-Header,My-Custom-Header-Dollar]`] } },
    check: (r) => {
      expect(headers(r)).toEqual([
        ['My-Custom-Header', '42'],
        ['My-Custom-Header-Dollar', '$remote_addr'],
      ]);
      expect(r.table.schema).toBe(4);
      expect(validate(r.table)).toEqual([]);
    },
  },
  {
    name: 'a name without namespace is the Ingress own; entries sorted by lower-case name',
    objects: withHeaders(
      'custom-headers',
      configMap('custom-headers', { b_under: 'x', 'A-Frame': 'DENY', 'Content-Security-Policy': "default-src 'self'" }),
    ),
    options: { allowedResponseHeaders: ['A-Frame', 'b_under', 'Content-Security-Policy'] },
    check: (r) =>
      expect(headers(r)).toEqual([
        ['A-Frame', 'DENY'],
        ['b_under', 'x'],
        ['Content-Security-Policy', "default-src 'self'"],
      ]),
  },
  {
    name: 'ValidValue: every visible ASCII character and the space',
    objects: withHeaders('h', configMap('h', { 'X-All': ' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~' })),
    options: { allowedResponseHeaders: ['X-All'] },
    check: (r) => expect(headers(r)?.[0]?.[1]).toBe(' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~'),
  },
  {
    name: 'an empty ConfigMap sets nothing and the routes serve (ingress-nginx has nothing to refuse)',
    objects: withHeaders('h', configMap('h', {})),
    hosts: { 'custom-headers': { routes: [ROUTE] } },
  },
  {
    name: 'binaryData is not read (ingress-nginx reads only data): said, and the data entries are set',
    objects: withHeaders('h', { ...configMap('h', { 'X-A': '1' }), binaryData: { 'X-B': 'MQ==' } } as AnyObject),
    options: { allowedResponseHeaders: ['X-A', 'X-B'] },
    diagnostics: ['UnsupportedAnnotation Ingress default/web'],
    messages: [/has binaryData \("X-B"\), which is not read/],
    check: (r) => expect(headers(r)).toEqual([['X-A', '1']]),
  },
  {
    name: 'with other access rules: the policy keeps them all',
    objects: [
      cls(),
      ...app('web'),
      ingress('web', {
        annotations: { [KEY]: 'h', [`${N}enable-cors`]: 'true', [`${N}denylist-source-range`]: '10.0.0.0/8' },
        rules: [rule('custom-headers', prefix('/', 'web'))],
      }),
      configMap('h', { 'X-A': '1' }),
    ],
    options: { allowedResponseHeaders: ['X-A'] },
    check: (r) => {
      const a = r.table.hosts[0]!.routes[0]!.policies.access!;
      expect(a.customHeaders).toEqual([['X-A', '1']]);
      expect(a.deny).toEqual(['10.0.0.0/8']);
      expect(a.cors).toBeDefined();
    },
  },
]);

const closedCase = (name: string, objects: AnyObject[], message: RegExp, options = {}): Case => ({
  name,
  objects,
  options,
  hosts: CLOSED,
  diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  messages: [message],
  check: (r) => expect(r.table.hosts[0]!.routes[0]!.policies.access).toBeUndefined(),
});

table('custom-headers that fails closed (503 + AccessControlNotEnforced), as ingress-nginx denies the location', [
  closedCase(
    'customheaders.go "should return status code 503 when custom-headers is configured with an invalid secret": no such ConfigMap',
    withHeaders('default/custom-headers'),
    /ConfigMap default\/custom-headers named by .* does not exist; the routes of this Ingress answer 503/,
    ALLOWED,
  ),
  closedCase(
    'the default --global-allowed-response-headers (empty) allows no header; the Warning names the flag',
    withHeaders('default/custom-headers', E2E_CONFIGMAP),
    /sets "My-Custom-Header", "My-Custom-Header-Dollar", which --global-allowed-response-headers .* does not allow: it allows none/,
  ),
  closedCase(
    'a header the list does not name (one allowed, one not: the whole ConfigMap is refused)',
    withHeaders('default/custom-headers', E2E_CONFIGMAP),
    /sets "My-Custom-Header-Dollar", which --global-allowed-response-headers .* does not allow: it allows "My-Custom-Header"/,
    { allowedResponseHeaders: ['My-Custom-Header'] },
  ),
  closedCase(
    'the list is matched exactly, case included (slices.Contains)',
    withHeaders('h', configMap('h', { 'x-frame-options': 'DENY' })),
    /sets "x-frame-options", which --global-allowed-response-headers/,
    { allowedResponseHeaders: ['X-Frame-Options'] },
  ),
  closedCase(
    'a ConfigMap of another namespace (only the Ingress own namespace, as ingress-nginx documents)',
    withHeaders('other/h', configMap('h', { 'X-A': '1' }, 'other')),
    /names ConfigMap other\/h of another namespace, which is not allowed/,
    { allowedResponseHeaders: ['X-A'] },
  ),
  ...(
    [
      ['ValidHeader: a name with a dot', { 'X.Header': '1' }, /entry "X\.Header" is not a header name/],
      ['ValidHeader: a name with a space', { 'X Header': '1' }, /entry "X Header" is not a header name/],
      ['ValidValue: an empty value', { 'X-A': '' }, /entry "X-A" has an empty value or one with a character other than visible ASCII/],
      ['ValidValue: a line break', { 'X-A': 'a\r\nSet-Cookie: x=1' }, /entry "X-A" has an empty value or one with a character/],
      ['ValidValue: a tab', { 'X-A': 'a\tb' }, /entry "X-A" has an empty value or one with a character/],
      ['ValidValue: non-ASCII', { 'X-A': 'café' }, /entry "X-A" has an empty value or one with a character/],
      ['a framing header', { 'Content-Length': '0' }, /entry "Content-Length" may not be set/],
      ['a hop-by-hop header', { Connection: 'close' }, /entry "Connection" may not be set/],
      ['the tunnel protocol (portico-*)', { 'Portico-Error': 'x' }, /entry "Portico-Error" may not be set/],
      ['a value too long', { 'X-A': 'v'.repeat(8193) }, /entry "X-A" has a value longer than 8192/],
      ['the same name twice in another case', { 'X-A': '1', 'x-a': '2' }, /sets "x-a" more than once/],
      ['too many entries', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`X-H${i}`, '1'])), /has 65 entries \(at most 64\)/],
      [
        'too much text in all',
        Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`X-H${i}`, 'v'.repeat(8000)])),
        /holds 40020 characters/,
      ],
    ] as const
  ).map(([why, data, message]) =>
    closedCase(why, withHeaders('h', configMap('h', data)), message, { allowedResponseHeaders: Object.keys(data) }),
  ),
  {
    name: 'a value that names no ConfigMap closes the route',
    objects: withHeaders('a/b/c'),
    hosts: CLOSED,
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/it is not the name of a ConfigMap, or namespace\/name/],
  },
  {
    name: 'one Ingress closed by its ConfigMap, another with a good one keeps working',
    objects: [
      ...withHeaders('missing'),
      ingress('ok', { annotations: { [KEY]: 'good' }, rules: [rule('bar.com', prefix('/', 'web'))] }),
      configMap('good', { 'X-A': '1' }),
    ],
    options: { allowedResponseHeaders: ['X-A'] },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    check: (r) => {
      const bar = r.table.hosts.find((h) => h.host === 'bar.com')!;
      expect(bar.routes[0]!.policies.access?.customHeaders).toEqual([['X-A', '1']]);
      expect(bar.routes[0]!.policies.failClosed).toBeUndefined();
    },
  },
  {
    name: 'the portico.dev/ spelling is not enforced: it closes the routes',
    objects: [
      cls(),
      ...app('web'),
      ingress('web', { annotations: { 'portico.dev/custom-headers': 'h' }, rules: [rule('custom-headers', prefix('/', 'web'))] }),
      configMap('h', { 'X-A': '1' }),
    ],
    options: { allowedResponseHeaders: ['X-A'] },
    hosts: { 'custom-headers': { routes: [`${ROUTE} closed(portico.dev/custom-headers)`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);

describe('validate() refuses a malformed customHeaders (a worker never sets a header it would have to guess at)', () => {
  const base = runCase({ name: 'base', objects: withHeaders('custom-headers', E2E_CONFIGMAP), options: ALLOWED }).table;
  const withList = (h: unknown): RoutingTable => {
    const t = structuredClone(base);
    (t.hosts[0]!.routes[0]!.policies.access as { customHeaders: unknown }).customHeaders = h;
    return t;
  };
  const cases: [string, unknown, RegExp][] = [
    ['an empty list', [], /must be a list of 1 to 64/],
    ['not a pair', [['X-A']], /must be a \[name, value\] pair/],
    [
      'out of order (by lower-case name)',
      [
        ['x-b', '1'],
        ['X-A', '1'],
      ],
      /"X-A" is out of order or repeated/,
    ],
    [
      'repeated in another case',
      [
        ['X-A', '1'],
        ['x-a', '2'],
      ],
      /"x-a" is out of order or repeated/,
    ],
    ['transfer-encoding', [['Transfer-Encoding', 'chunked']], /"Transfer-Encoding" may not be set/],
    ['portico-endpoint', [['portico-endpoint', 'x']], /"portico-endpoint" may not be set/],
    ['a line break', [['X-A', 'a\nb']], /character other than visible ASCII/],
    ['an empty value', [['X-A', '']], /empty value/],
    ['a name with a colon', [['X:A', '1']], /is not a header name/],
  ];
  it('the compiled table is valid, schema 4', () => {
    expect(validate(base)).toEqual([]);
    expect(base.schema).toBe(4);
  });
  for (const [name, h, message] of cases) {
    it(name, () => {
      const problems = validate(withList(h)).map((p) => `${p.at}: ${p.message}`);
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
    });
  }
});
