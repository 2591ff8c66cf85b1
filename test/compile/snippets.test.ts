// configuration-snippet and server-snippet → typed header rules (sync/compile/snippet-*.ts), or refused whole with
// the directive and its line, the routes (server-snippet: the hosts) failing closed as before. Cases named after
// ingress-nginx's test/e2e/annotations/snippet.go and serversnippet.go (v1.15 and the older releases whose cases
// used variables), headers-more's README and ngx_http_headers_module / ngx_http_proxy_module documentation.
import { describe, expect, it } from 'vitest';
import type { HeaderRules } from '../../gateway/table/header-rules.ts';
import { validate } from '../../gateway/table/validate.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { type AnyObject, app, backend, cls, ingress, prefix, rule } from '../support/builders.ts';
import { runCase, type Case } from './cases.ts';

const N = 'nginx.ingress.kubernetes.io/';
const CONF = `${N}configuration-snippet`;
const SERVER = `${N}server-snippet`;
const HOST = 'snippets.foo.com';
const ROUTE = 'Prefix "" -> default/web:80 [default/web]';
const API = 'Prefix "/api" -> default/api:80 [default/api]';

const one = (annotations: Record<string, string>): AnyObject[] => [
  cls(),
  ...app('web'),
  ingress('web', { annotations, rules: [rule(HOST, prefix('/', 'web'))] }),
];
/** web (older, with `annotations`) and api (younger, with `apiAnnotations`) on the same host. */
const two = (annotations: Record<string, string>, apiAnnotations: Record<string, string> = {}): AnyObject[] => [
  cls(),
  ...app('web'),
  ...app('api'),
  ingress('web', { annotations, rules: [rule(HOST, prefix('/', 'web'))], created: 1 }),
  ingress('api', { annotations: apiAnnotations, rules: [rule(HOST, prefix('/api', 'api'))], created: 2 }),
];
const rulesOf = (r: CompileResult, i = 0): HeaderRules | undefined => r.table.hosts[0]!.routes[i]!.policies.headerRules;

/** An accepted case: the route's rules are exactly `want`, the table validates and is schema 6. */
const accepted = (name: string, annotations: Record<string, string>, want: HeaderRules): Case => ({
  name,
  objects: one(annotations),
  hosts: { [HOST]: { routes: [ROUTE] } },
  check: (r) => {
    expect(rulesOf(r)).toEqual(want);
    expect(r.table.schema).toBe(6);
    expect(validate(r.table)).toEqual([]);
  },
});

/** A refused configuration-snippet: the route answers 503 and the diagnostic names the directive and line. */
const refused = (name: string, snippet: string, message: RegExp): Case => ({
  name,
  objects: one({ [CONF]: snippet }),
  hosts: { [HOST]: { routes: [`${ROUTE} closed(configuration-snippet)`] } },
  diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  messages: [message],
  check: (r) => {
    expect(rulesOf(r)).toBeUndefined();
    expect(r.table.schema).toBe(2);
  },
});

function table(name: string, cases: Case[]): void {
  describe(name, () => {
    for (const c of cases) it(c.name, () => void runCase(c));
  });
}

table('snippets accepted as header rules', [
  accepted(
    'snippet.go "set snippet more_set_headers Foo1: Bar1 in all locations": a response header on every status',
    { [CONF]: '\n\t\t\t\tmore_set_headers "Foo1: Bar1";' },
    {
      response: { set: [['foo1', 'Bar1']] },
    },
  ),
  accepted(
    'headers-more README: several headers per directive, single quotes, and a clear by `Name:` and by `Name`',
    { [CONF]: "more_set_headers 'X-Frame-Options: DENY' 'Content-Security-Policy: default-src \\'self\\'' 'Server:' X-Powered-By;" },
    {
      response: {
        remove: ['server', 'x-powered-by'],
        set: [
          ['content-security-policy', "default-src 'self'"],
          ['x-frame-options', 'DENY'],
        ],
      },
    },
  ),
  accepted(
    'more_clear_headers: names and a `X-Hidden-*` wildcard (a name the wildcard covers needs no entry)',
    { [CONF]: "more_clear_headers Server 'X-Hidden-*' X-Hidden-One;" },
    { response: { remove: ['server', 'x-hidden-*'] } },
  ),
  accepted(
    'headers-more executes in order: a clear after a set removes, a set after a clear sets',
    { [CONF]: "more_set_headers 'X-A: 1';\nmore_clear_headers X-A;\nmore_clear_headers X-B;\nmore_set_headers 'X-B: 2';" },
    { response: { remove: ['x-a'], set: [['x-b', '2']] } },
  ),
  accepted(
    'add_header adds (2xx/3xx only), `always` on every status; repeated names kept in order',
    {
      [CONF]: 'add_header X-Cache-Note one;\nadd_header X-Cache-Note two;\nadd_header Strict-Transport-Security "max-age=31536000" always;',
    },
    {
      response: {
        add: [
          ['x-cache-note', 'one'],
          ['x-cache-note', 'two'],
        ],
        addAlways: [['strict-transport-security', 'max-age=31536000']],
      },
    },
  ),
  accepted(
    "proxy_set_header: a literal header for the upstream; an empty value removes the client's",
    { [CONF]: 'proxy_set_header X-Api-Version 2;\nproxy_set_header Accept-Encoding "";' },
    { request: { set: [['x-api-version', '2']], remove: ['accept-encoding'] } },
  ),
  accepted(
    'more_set_input_headers / more_clear_input_headers, and proxy_set_header wins for its name',
    { [CONF]: "more_set_input_headers 'X-Tenant: a' 'X-Env: prod';\nmore_clear_input_headers Cookie;\nproxy_set_header X-Tenant b;" },
    {
      request: {
        set: [
          ['x-env', 'prod'],
          ['x-tenant', 'b'],
        ],
        remove: ['cookie'],
      },
    },
  ),
  accepted(
    'comments and blank lines are fine',
    { [CONF]: '# security headers\n\nmore_set_headers "X-Content-Type-Options: nosniff"; # always\n' },
    {
      response: { set: [['x-content-type-options', 'nosniff']] },
    },
  ),
  {
    name: 'an empty snippet, one of comments only, or an add_header with an empty value (nginx adds nothing): no rules, the route serves',
    objects: [
      cls(),
      ...app('web'),
      ingress('web', {
        annotations: { [CONF]: '  # nothing\n', [SERVER]: "add_header X-Empty '';" },
        rules: [rule(HOST, prefix('/', 'web'))],
      }),
    ],
    hosts: { [HOST]: { routes: [ROUTE] } },
    check: (r) => {
      expect(rulesOf(r)).toBeUndefined();
      expect(r.table.schema).toBe(1);
    },
  },
]);

table('server-snippet: every route of its hosts', [
  {
    name: 'serversnippet.go "add valid directives to server via server snippet": Foo and Xpto on every route of the host, another Ingress\'s too',
    objects: two({ [SERVER]: '\n\t\t\t\tmore_set_headers "Foo: Bar";\n\t\t\t\tmore_set_headers "Xpto: Lalala";' }),
    hosts: { [HOST]: { routes: [API, ROUTE] } },
    check: (r) => {
      const want = {
        response: {
          set: [
            ['foo', 'Bar'],
            ['xpto', 'Lalala'],
          ],
        },
      };
      expect(rulesOf(r, 0)).toEqual(want);
      expect(rulesOf(r, 1)).toEqual(want);
    },
  },
  {
    name: "headers-more: the server's operations run before the location's; add_header: a location with its own add_header inherits none",
    objects: two(
      { [SERVER]: "more_set_headers 'X-Level: server' 'X-Server: 1';\nadd_header X-Added server;" },
      { [CONF]: "more_set_headers 'X-Level: location';\nadd_header X-Own api;" },
    ),
    check: (r) => {
      expect(rulesOf(r, 0)).toEqual({
        response: {
          set: [
            ['x-level', 'location'],
            ['x-server', '1'],
          ],
          add: [['x-own', 'api']],
        },
      });
      expect(rulesOf(r, 1)).toEqual({
        response: {
          set: [
            ['x-level', 'server'],
            ['x-server', '1'],
          ],
          add: [['x-added', 'server']],
        },
      });
    },
  },
  {
    name: "a younger Ingress's server-snippet on the same host is ignored (ingress-nginx keeps the first): ServerSnippetConflict",
    objects: two({ [SERVER]: "more_set_headers 'X-Who: web';" }, { [SERVER]: "more_set_headers 'X-Who: api';" }),
    diagnostics: ['ServerSnippetConflict Ingress default/api'],
    messages: [/server-snippet is ignored on host "snippets\.foo\.com": Ingress default\/web is older/],
    check: (r) => {
      expect(rulesOf(r, 0)).toEqual({ response: { set: [['x-who', 'web']] } });
      expect(rulesOf(r, 1)).toEqual({ response: { set: [['x-who', 'web']] } });
    },
  },
  {
    name: "a refused server-snippet closes every route of its hosts, another Ingress's too (as before)",
    objects: two({ [SERVER]: 'more_set_headers "Content-Length: $content_length";\nmore_set_headers "Content-Type: $content_type";' }),
    hosts: { [HOST]: { routes: [`${API} closed(server-snippet)`, `${ROUTE} closed(server-snippet)`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [
      /"nginx\.ingress\.kubernetes\.io\/server-snippet" is refused \(directive "more_set_headers" on line 1: "Content-Length: \$content_length" holds a "\$".*every route of this Ingress's hosts answers 503/,
    ],
  },
  {
    name: 'proxy_set_header in a server-snippet: no effect on ingress-nginx (not inherited into its locations), so refused',
    objects: one({ [SERVER]: 'proxy_set_header X-From-Server 1;' }),
    hosts: { [HOST]: { routes: [`${ROUTE} closed(server-snippet)`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    messages: [/directive "proxy_set_header" on line 1: it has no effect in a server-snippet on ingress-nginx/],
  },
]);

table('snippets refused whole: 503 and a diagnostic naming the directive and line', [
  refused(
    'snippet.go (before v1.9) "set snippet more_set_headers Request-Id: $req_id": a variable',
    '\n\t\t\t\tmore_set_headers "Request-Id: $req_id";',
    /directive "more_set_headers" on line 2: "Request-Id: \$req_id" holds a "\$".*never evaluates nginx variables/,
  ),
  refused(
    'any other directive: an access rule',
    'more_set_headers "X: 1";\n\ndeny all;',
    /directive "deny" on line 3: it is not one of the directives Portico accepts/,
  ),
  refused('return', 'return 403;', /directive "return" on line 1/),
  refused('an if block', 'if ($http_x_debug) {\n  more_set_headers "X: 1";\n}', /line 1: a block \("\{" after "if"\)/),
  refused(
    'more_set_headers -s (status filter)',
    "more_set_headers -s 404 'X-Not-Found: 1';",
    /directive "more_set_headers" on line 1: option "-s" is not supported/,
  ),
  refused(
    'a quoted "-s" is an option too (the quotes are gone before headers-more reads it)',
    'more_set_headers "-s" 404 \'X: 1\';',
    /option "-s" is not supported/,
  ),
  refused(
    'headers-more ends a name at a blank: `X Y: z` is refused, not guessed',
    "more_set_headers 'X Y: z';",
    /header "X Y" is not a header name/,
  ),
  refused('headers-more skips a second colon: `X:: v` is refused', "more_set_headers 'X:: v';", /has a value starting with ":"/),
  refused('a blank before the name', "more_set_headers ' X: v';", /starts with a blank before the header name/),
  refused('more_set_headers -t (content-type filter)', "more_set_headers -t 'text/html' 'X: 1';", /option "-t" is not supported/),
  refused('more_set_headers -a (append)', "more_set_headers -a 'X: 1';", /option "-a" is not supported/),
  refused(
    'more_set_input_headers -r (replace only)',
    "more_set_input_headers -r 'X: 1';",
    /directive "more_set_input_headers" on line 1: option "-r"/,
  ),
  refused(
    'more_set_headers with a "*" in the name (headers-more would read a wildcard)',
    "more_set_headers 'X-*: 1';",
    /header "X-\*" holds a "\*"/,
  ),
  refused('more_clear_input_headers with a wildcard', "more_clear_input_headers 'X-*';", /wildcards are refused here/),
  refused(
    'add_header with a third argument other than always',
    'add_header X 1 sometimes;',
    /directive "add_header" on line 1: its third argument must be "always"/,
  ),
  refused('add_header with one argument', 'add_header X;', /it takes a name, a value and optionally "always"/),
  refused('add_header ETag (nginx replaces it)', 'add_header ETag abc;', /nginx replaces "ETag" rather than adding it/),
  refused('proxy_set_header Host (upstream-vhost)', 'proxy_set_header Host example.com;', /header "Host" is set by the edge itself/),
  refused(
    'proxy_set_header X-Forwarded-For (the edge writes it)',
    'proxy_set_header X-Forwarded-For 1.2.3.4;',
    /header "X-Forwarded-For" is set by the edge itself/,
  ),
  refused(
    'proxy_set_header Connection (hop-by-hop)',
    'proxy_set_header Connection close;',
    /header "Connection" frames the message or belongs to one hop/,
  ),
  refused(
    'proxy_set_header given twice',
    'proxy_set_header X-A 1;\nproxy_set_header X-A 2;',
    /directive "proxy_set_header" on line 2: proxy_set_header "x-a" is given twice/,
  ),
  refused(
    'more_set_headers Content-Length (framing)',
    "more_set_headers 'Content-Length: 5';",
    /header "Content-Length" frames the message/,
  ),
  refused(
    'more_set_headers Transfer-Encoding (framing)',
    "more_set_headers 'Transfer-Encoding: chunked';",
    /header "Transfer-Encoding" frames the message/,
  ),
  refused('a header name with a space', "more_set_headers 'Bad Name: x';", /header "Bad Name" is not a header name/),
  refused('a value with a line feed (\\n escape)', 'add_header X "a\\nInjected: 1";', /the value of "x" must be visible ASCII/),
  refused('a value that is too long', `add_header X ${'a'.repeat(4097)};`, /the value of "x" must be 1 to 4096 characters/),
  refused(
    'a tunnel protocol header',
    "more_set_headers 'Portico-Tunnel-Error: x';",
    /header "Portico-Tunnel-Error" frames the message or belongs to one hop \(or to the tunnel\)/,
  ),
  refused(
    'a wildcard that would take the tunnel headers',
    "more_clear_headers 'Port*';",
    /wildcard "Port\*": would remove the tunnel protocol headers/,
  ),
  refused('a bare wildcard', "more_clear_headers '*';", /wildcard "\*": a wildcard is a name prefix/),
  refused('an unterminated quote', 'more_set_headers "X: 1;', /line 1: unterminated double-quoted string/),
  refused('a missing ;', 'more_set_headers "X: 1"', /is not ended by ";"/),
  refused('a NUL byte', 'more_set_headers "X: 1\u0000";', /control character U\+0000/),
  refused(
    'one bad line refuses the whole snippet (the good lines are not applied)',
    "more_set_headers 'X-Good: 1';\nadd_header X-Also-Good 2;\nauth_request /auth;",
    /directive "auth_request" on line 3/,
  ),
  refused(
    'more header operations than the limit',
    `more_set_headers ${Array.from({ length: 33 }, (_, i) => `'X-${i}: 1'`).join(' ')};`,
    /more than 32 header operations/,
  ),
]);

table('where the rules are not applied, the answer is 503 rather than a response without them', [
  {
    name: "configuration-snippet: the Ingress's spec.defaultBackend (its hosts' fallback, the table's default backend) answers 503",
    objects: [
      cls(),
      ...app('web'),
      ingress('web', {
        annotations: { [CONF]: "more_set_headers 'X-Frame-Options: DENY';" },
        defaultBackend: backend('web'),
        rules: [rule(HOST, prefix('/app', 'web'))],
      }),
    ],
    // The closed default backend is said once, on its Ingress.
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
    hosts: {
      [HOST]: { fallback: 'default/web:80 closed(configuration-snippet)', routes: ['Prefix "/app" -> default/web:80 [default/web]'] },
    },
    defaultBackend: 'default/web:80',
    check: (r) => expect(r.table.defaultBackendFailClosed).toEqual([CONF]),
  },
  {
    name: "server-snippet: the host's fallback (another Ingress's spec.defaultBackend) answers 503",
    objects: [
      cls(),
      ...app('web'),
      ...app('api'),
      ingress('web', {
        annotations: { [SERVER]: "more_set_headers 'X-Frame-Options: DENY';" },
        rules: [rule(HOST, prefix('/app', 'web'))],
        created: 1,
      }),
      ingress('api', { defaultBackend: backend('api'), rules: [rule(HOST, prefix('/api', 'api'))], created: 2 }),
    ],
    hosts: {
      [HOST]: {
        fallback: 'default/api:80 closed(server-snippet)',
        routes: ['Prefix "/api" -> default/api:80 [default/api]', 'Prefix "/app" -> default/web:80 [default/web]'],
      },
    },
    defaultBackend: 'default/api:80',
    // The table's default backend serves unknown hosts, not this server: it stays open.
    check: (r) => expect(r.table.defaultBackendFailClosed).toBeUndefined(),
  },
]);

table('the portico.dev spelling and the other snippets stay fail-closed guards', [
  {
    name: 'portico.dev/configuration-snippet is not read: the routes answer 503',
    objects: one({ 'portico.dev/configuration-snippet': "more_set_headers 'X: 1';" }),
    hosts: { [HOST]: { routes: [`${ROUTE} closed(portico.dev/configuration-snippet)`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
  {
    name: 'modsecurity-snippet is never read, even holding only a header directive',
    objects: one({ [`${N}modsecurity-snippet`]: "more_set_headers 'X: 1';" }),
    hosts: { [HOST]: { routes: [`${ROUTE} closed(modsecurity-snippet)`] } },
    diagnostics: ['AccessControlNotEnforced Ingress default/web'],
  },
]);
