// Cost of snippet header rules (configuration-snippet / server-snippet), in one process and one run so the rows
// compare: the compiler's lexer and parser on a typical snippet and on the largest text it reads (16384 characters,
// hostile: refused), decide() for a route without and with rules, and the answer-header pass of the forwarders
// (withResponseAdditions) over an upstream answer of 10 headers with nothing to add and with a typical rule set.
//   node --import tsx bench/snippets.ts
import { decide, type RequestFacts } from '../gateway/decide.ts';
import { headerEffects } from '../gateway/header-rules.ts';
import { withResponseAdditions } from '../gateway/proxy/headers.ts';
import { compileMatcher } from '../gateway/table/match.ts';
import { compile } from '../sync/compile/index.ts';
import { parseSnippet } from '../sync/compile/snippet-headers.ts';
import { MAX_SNIPPET_LENGTH } from '../sync/compile/snippet-lexer.ts';
import { ingress, objects, ourClass, service } from '../test/support/manifests.ts';
import { time } from './lib/timing.ts';

const TYPICAL = [
  '# security headers',
  "more_set_headers 'X-Frame-Options: DENY' 'X-Content-Type-Options: nosniff';",
  'more_set_headers "Content-Security-Policy: default-src \'self\'";',
  "more_clear_headers Server 'X-Powered-*';",
  'add_header Strict-Transport-Security "max-age=31536000" always;',
  'proxy_set_header X-Api-Version 2;',
].join('\n');
const HOSTILE = `more_set_headers "${'\\"'.repeat((MAX_SNIPPET_LENGTH - 20) / 2)}`;

time('parseSnippet: typical (6 directives)', 100_000, () => parseSnippet(TYPICAL, 'location'));
time(`parseSnippet: ${HOSTILE.length} characters of escaped quotes (refused)`, 2_000, () => parseSnippet(HOSTILE, 'location'));

const r = compile(
  objects(
    ourClass(),
    service('web', [{ address: '127.0.0.1', port: 8080 }]),
    ingress('plain', { host: 'plain.test', paths: [{ path: '/', service: 'web' }] }),
    ingress('snippet', {
      host: 'snippet.test',
      paths: [{ path: '/', service: 'web' }],
      annotations: { 'nginx.ingress.kubernetes.io/configuration-snippet': TYPICAL },
    }),
  ),
);
const live = { current: { matcher: compileMatcher(r.table), certificates: new Map(), loadedAt: 0 } };
const facts = (host: string): RequestFacts => ({
  host,
  path: '/api/items',
  search: '',
  scheme: 'http',
  clientIp: '192.0.2.10',
  localPort: 80,
});
const plainFacts = facts('plain.test');
const snippetFacts = facts('snippet.test');
const plain = time('decide(): route without header rules', 1_000_000, () => decide(live, plainFacts, null));
const ruled = time('decide(): route with header rules', 1_000_000, () => decide(live, snippetFacts, null));

const rules = r.table.hosts.find((h) => h.host === 'snippet.test')!.routes[0]!.policies.headerRules!;
const additions = headerEffects(rules).response;
const upstream = Array.from({ length: 10 }, (_, i) => [i === 0 ? 'Server' : `X-Upstream-${i}`, `value-${i}`]).flat();
const bare = time('answer headers: 10 from upstream, nothing added', 1_000_000, () => withResponseAdditions(upstream, undefined, 200));
const added = time('answer headers: 10 from upstream, rules (2 removals, 3 set, 1 always)', 1_000_000, () =>
  withResponseAdditions(upstream, additions, 200),
);

console.log(
  `\nheader rules: decide() +${(ruled - plain).toFixed(0)} ns (${(ruled / plain).toFixed(2)}x); answer headers +${(added - bare).toFixed(0)} ns (${(added / bare).toFixed(2)}x)`,
);
