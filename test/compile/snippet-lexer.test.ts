// The snippet lexer (sync/compile/snippet-lexer.ts) against nginx's ngx_conf_read_token rules: named cases of what
// splits into which tokens, and hostile input that must be refused with a line, never accepted in part.
import { describe, expect, it } from 'vitest';
import { lexSnippet, MAX_DIRECTIVES, MAX_SNIPPET_LENGTH } from '../../sync/compile/snippet-lexer.ts';

/** `name a|b|c` per directive, quoted tokens written `"x"`, variable tokens marked `$`. */
function summary(text: string): string[] | string {
  const r = lexSnippet(text);
  if (!r.ok) return `error line ${r.line}: ${r.message}`;
  return r.directives.map(
    (d) => `${d.line}: ${[d.name, ...d.args.map((a) => `${a.quoted ? `"${a.text}"` : a.text}${a.variable ? '$' : ''}`)].join(' | ')}`,
  );
}

const accepted: { name: string; text: string; want: string[] }[] = [
  {
    name: 'snippet.go: a double-quoted argument',
    text: '\n\t\t\t\tmore_set_headers "Foo1: Bar1";',
    want: ['2: more_set_headers | "Foo1: Bar1"'],
  },
  {
    name: 'serversnippet.go: two directives on two lines',
    text: '\n  more_set_headers "Foo: Bar";\n  more_set_headers "Xpto: Lalala";',
    want: ['2: more_set_headers | "Foo: Bar"', '3: more_set_headers | "Xpto: Lalala"'],
  },
  {
    name: 'tokens split by spaces and tabs; several per line',
    text: 'add_header  X-A\t1; add_header X-B 2;',
    want: ['1: add_header | X-A | 1', '1: add_header | X-B | 2'],
  },
  {
    name: 'single quotes, with a double quote inside',
    text: `more_set_headers 'A: say "hi"';`,
    want: ['1: more_set_headers | "A: say "hi""'],
  },
  {
    name: 'backslash escapes inside quotes: \\" \\\' \\\\ become the character',
    text: 'add_header X "a\\"b\\\\c\\\'d";',
    want: ['1: add_header | X | "a"b\\c\'d"'],
  },
  { name: 'other backslash sequences stay as written (\\d)', text: 'add_header X "a\\db";', want: ['1: add_header | X | "a\\db"'] },
  { name: 'a quote inside an unquoted token is a character', text: 'add_header X a"b;', want: ['1: add_header | X | a"b'] },
  {
    name: '# starts a comment at the start of a token, to the end of the line',
    text: '# a comment ;{ $x\nadd_header X 1; # trailing',
    want: ['2: add_header | X | 1'],
  },
  { name: '# inside a token is a character', text: 'add_header X a#b;', want: ['1: add_header | X | a#b'] },
  {
    name: 'a directive spread over lines takes the line of its first token',
    text: '\n\nadd_header\n  X\n  1\n;',
    want: ['3: add_header | X | 1'],
  },
  {
    name: 'a $variable is marked (quoted or not)',
    text: 'more_set_headers "Request-Id: $req_id"; add_header X $host;',
    want: ['1: more_set_headers | "Request-Id: $req_id"$', '1: add_header | X | $host$'],
  },
  { name: '\\$ is still a variable for nginx (no escape for $)', text: 'add_header X "\\$x";', want: ['1: add_header | X | "\\$x"$'] },
  { name: '\u0024{name}: its { does not open a block', text: 'add_header X \u0024{host}a;', want: ['1: add_header | X | \u0024{host}a$'] },
  { name: 'an empty quoted string is a token', text: 'proxy_set_header X "";', want: ['1: proxy_set_header | X | ""'] },
  { name: 'empty text: no directive', text: '  \n\t', want: [] },
  { name: 'CRLF line ends', text: 'add_header X 1;\r\nadd_header Y 2;\r\n', want: ['1: add_header | X | 1', '2: add_header | Y | 2'] },
];

const refused: { name: string; text: string; error: RegExp }[] = [
  { name: 'unterminated double quote', text: 'add_header X "abc;', error: /line 1: unterminated double-quoted string/ },
  {
    name: 'unterminated single quote on a later line',
    text: "add_header X 1;\nadd_header Y 'abc;",
    error: /line 2: unterminated single-quoted string/,
  },
  { name: 'a quote escaped at the end never closes', text: 'add_header X "abc\\";', error: /unterminated double-quoted string/ },
  {
    name: 'no ; after the last directive (nginx: unexpected end of file)',
    text: 'add_header X 1',
    error: /line 1: unexpected end of the snippet: "add_header" is not ended by ";"/,
  },
  { name: 'a lone ;', text: ';', error: /unexpected ";"/ },
  { name: 'a block', text: 'location /x { add_header X 1; }', error: /a block \("\{" after "location"\)/ },
  { name: 'an if block', text: 'if ($http_x) {\n return 403;\n}', error: /a block \("\{" after "if"\)/ },
  { name: 'a closing brace alone', text: '}', error: /a block \("\}"\)/ },
  {
    name: "an escaped \\$ clears nginx's variable flag: the { after it opens a block",
    text: 'add_header X a\\$\u007bb};',
    error: /a block \("\{" after "add_header"\)/,
  },
  { name: 'text glued after a quoted string', text: 'add_header X "a"b;', error: /unexpected "b" after a quoted string/ },
  { name: 'NUL byte', text: 'add_header X a\u0000b;', error: /control character U\+0000/ },
  { name: 'NUL inside quotes', text: 'add_header X "a\u0000b";', error: /control character U\+0000/ },
  { name: 'DEL', text: 'add_header X a\u007f;', error: /control character U\+007f/ },
  { name: 'escape (ESC) on line 3', text: '\n\nadd_header X \u001b[31m;', error: /line 3: control character U\+001b/ },
  { name: 'longer than the limit', text: `add_header X ${'a'.repeat(MAX_SNIPPET_LENGTH)};`, error: /longer than 16384 characters/ },
  { name: 'more directives than the limit', text: 'add_header X 1;'.repeat(MAX_DIRECTIVES + 1), error: /more than 64 directives/ },
];

describe('snippet lexer: how nginx splits a directive', () => {
  for (const c of accepted) it(c.name, () => expect(summary(c.text)).toEqual(c.want));
});

describe('snippet lexer: refused input, with its line', () => {
  for (const c of refused) it(c.name, () => expect(summary(c.text)).toMatch(c.error));
  it('very long hostile input (just under the limit, all quotes and backslashes) ends without a directive', () => {
    const text = '"\\'.repeat(Math.floor((MAX_SNIPPET_LENGTH - 1) / 2));
    expect(summary(text)).toMatch(/^error line 1: /);
  });
});
