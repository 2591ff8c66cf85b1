// The allow-list over snippet text: configuration-snippet and server-snippet stay refused as configuration, but a
// snippet made only of the header directives people use them for, with literal values, becomes typed header
// rules (gateway/table/header-rules.ts). Anything else refuses the whole snippet with the directive and its line,
// and its routes keep failing closed (503): a `$variable` (Portico never evaluates nginx variables), any other
// directive, a block, an option that cannot be honoured exactly.
//
// Accepted, with the semantics of their modules:
// - more_set_headers 'Name: value' ... (headers-more-nginx-module README): replaces the response header on every
//   status; 'Name:' or 'Name' with no value clears it; several arguments per directive; executed in order.
//   Refused: any argument starting with `-` (the -s, -t and -a options: status, content-type, append).
// - more_clear_headers Name ... : clears; `Prefix-*` clears every header starting with Prefix-. Refused: -s, -t.
// - add_header name value [always] (ngx_http_headers_module): ADDS the header, on 200, 201, 204, 206, 301, 302,
//   303, 304, 307 and 308 only, unless `always`. An empty value adds nothing (nginx skips it). ETag and
//   Last-Modified are refused: nginx replaces those instead of adding.
// - proxy_set_header name value (ngx_http_proxy_module): the header on the upstream request, replacing the
//   client's; an empty value removes it. Only in configuration-snippet: ingress-nginx's locations set their own
//   proxy_set_header lines, and nginx inherits none from the server level when a level has any, so a
//   server-snippet's proxy_set_header has no effect there; Portico refuses it rather than silently drop it.
// - more_set_input_headers / more_clear_input_headers (headers-more): the same on the request, as it reaches the
//   upstream. Refused: -r, -t, and wildcards.
import { prefixProblem, requestNameProblem, responseNameProblem, valueProblem } from '../../gateway/table/header-rules.ts';
import { PorticoError } from '../../gateway/table/portico-error.ts';
import { lexSnippet, type SnippetDirective, type SnippetToken } from './snippet-lexer.ts';

/** Where a snippet goes in ingress-nginx's template: `location` (configuration-snippet) or `server` (server-snippet). */
export type SnippetLevel = 'location' | 'server';

/** One header operation, in the order written. Names lower-case. */
export type SnippetOp =
  | { kind: 'set-response'; name: string; value: string | null }
  | { kind: 'clear-response-prefix'; prefix: string }
  | { kind: 'add-response'; name: string; value: string; always: boolean }
  | { kind: 'set-input'; name: string; value: string | null }
  | { kind: 'proxy-set'; name: string; value: string | null };

/** The most operations one snippet may hold (a server-snippet and a configuration-snippet together stay within
 * the table's MAX_HEADER_RULES per list). */
export const MAX_SNIPPET_OPS = 32;

export type SnippetParse =
  | { ok: true; ops: SnippetOp[] }
  | {
      ok: false;
      /** 1-based line of the directive (or of the lexer's error). */
      line: number;
      /** The refused directive's name, or null for a syntax error. */
      directive: string | null;
      reason: string;
    };

/** Thrown inside the parser only, caught by parseSnippet(): one refused directive ends the whole snippet. */
class SnippetRefusedError extends PorticoError {
  readonly code = 'PORTICO_SNIPPET_REFUSED';
  constructor(
    readonly reason: string,
    readonly directive: SnippetDirective,
  ) {
    super(reason);
  }
}

const ACCEPTED = [
  'more_set_headers',
  'more_clear_headers',
  'add_header',
  'proxy_set_header',
  'more_set_input_headers',
  'more_clear_input_headers',
];

function literal(t: SnippetToken, d: SnippetDirective): string {
  if (t.variable)
    throw new SnippetRefusedError(
      `${JSON.stringify(t.text)} holds a "$": nginx would expand a variable there, and Portico never evaluates nginx variables`,
      d,
    );
  return t.text;
}

/** headers-more's options (`-s`, `-t`, `-a`, `-r`); none of them can be honoured exactly here. nginx's lexer removes
 * the quotes before headers-more looks, so a quoted `"-s"` is an option too: any argument starting with `-` is refused. */
function noOptions(d: SnippetDirective): SnippetToken[] {
  const opt = d.args.find((a) => a.text.startsWith('-'));
  if (opt !== undefined)
    throw new SnippetRefusedError(
      `option ${JSON.stringify(opt.text)} is not supported (status, content-type, append and replace-only filters are refused)`,
      d,
    );
  if (d.args.length === 0) throw new SnippetRefusedError('it names no header', d);
  return d.args;
}

function checkedName(raw: string, d: SnippetDirective, problem: (n: string) => string | null): string {
  const name = raw.toLowerCase();
  const p = problem(name);
  if (p !== null) throw new SnippetRefusedError(`header ${JSON.stringify(raw)} ${p}`, d);
  return name;
}

function checkedValue(raw: string, name: string, d: SnippetDirective): string {
  const v = raw.trim();
  const p = valueProblem(v);
  if (p !== null) throw new SnippetRefusedError(`the value of ${JSON.stringify(name)} ${p}`, d);
  return v;
}

/** headers-more's `Name: value`, `Name:` and `Name` (the last two clear): the name before the first colon, the
 * value after it. headers-more's parser (ngx_http_headers_more_parse_header) also ends the name at a blank and skips
 * every `:` and blank before the value, and mishandles a blank before the name; the forms where that reads differently
 * from "name, colon, value" (`X Y: z`, `X:: v`, ` X: v`) are refused rather than guessed. */
function moreHeader(arg: string, d: SnippetDirective, problem: (n: string) => string | null): { name: string; value: string | null } {
  if (/^\s/.test(arg)) throw new SnippetRefusedError(`${JSON.stringify(arg)} starts with a blank before the header name`, d);
  const colon = arg.indexOf(':');
  const rawName = (colon < 0 ? arg : arg.slice(0, colon)).trimEnd();
  const name = checkedName(rawName, d, problem);
  const rawValue = colon < 0 ? '' : arg.slice(colon + 1).trim();
  if (rawValue.startsWith(':'))
    throw new SnippetRefusedError(`${JSON.stringify(arg)} has a value starting with ":" (headers-more would drop it)`, d);
  return { name, value: rawValue === '' ? null : checkedValue(rawValue, name, d) };
}

function opsOf(d: SnippetDirective, level: SnippetLevel): SnippetOp[] {
  switch (d.name) {
    case 'more_set_headers':
      return noOptions(d).map((a) => ({ kind: 'set-response', ...moreHeader(literal(a, d), d, responseNameProblem) }));
    case 'more_clear_headers':
      return noOptions(d).map((a) => {
        const raw = literal(a, d).trim();
        if (raw.includes(':')) throw new SnippetRefusedError(`${JSON.stringify(raw)} is not a header name`, d);
        if (raw.endsWith('*')) {
          const prefix = raw.toLowerCase();
          const p = prefixProblem(prefix);
          if (p !== null) throw new SnippetRefusedError(`wildcard ${JSON.stringify(raw)}: ${p}`, d);
          return { kind: 'clear-response-prefix', prefix };
        }
        return { kind: 'set-response', name: checkedName(raw, d, responseNameProblem), value: null };
      });
    case 'more_set_input_headers':
      return noOptions(d).map((a) => ({ kind: 'set-input', ...moreHeader(literal(a, d), d, requestNameProblem) }));
    case 'more_clear_input_headers':
      return noOptions(d).map((a) => {
        const raw = literal(a, d).trim();
        if (raw.includes(':') || raw.includes('*'))
          throw new SnippetRefusedError(`${JSON.stringify(raw)} is not a header name (wildcards are refused here)`, d);
        return { kind: 'set-input', name: checkedName(raw, d, requestNameProblem), value: null };
      });
    case 'add_header': {
      const [n, v, flag] = d.args;
      if (n === undefined || v === undefined || d.args.length > 3)
        throw new SnippetRefusedError('it takes a name, a value and optionally "always"', d);
      if (flag !== undefined && (flag.text !== 'always' || flag.variable))
        throw new SnippetRefusedError(`its third argument must be "always", not ${JSON.stringify(flag.text)}`, d);
      const name = checkedName(literal(n, d), d, responseNameProblem);
      if (name === 'etag' || name === 'last-modified')
        throw new SnippetRefusedError(`nginx replaces ${JSON.stringify(n.text)} rather than adding it; use more_set_headers`, d);
      const raw = literal(v, d).trim();
      // ngx_http_headers_module adds nothing for an empty value.
      if (raw === '') return [];
      return [{ kind: 'add-response', name, value: checkedValue(raw, name, d), always: flag !== undefined }];
    }
    case 'proxy_set_header': {
      if (level === 'server')
        throw new SnippetRefusedError(
          'it has no effect in a server-snippet on ingress-nginx (its locations set their own proxy_set_header lines, and nginx inherits none from the server level then); write it in configuration-snippet',
          d,
        );
      const [n, v] = d.args;
      if (n === undefined || v === undefined || d.args.length > 2) throw new SnippetRefusedError('it takes a name and a value', d);
      const name = checkedName(literal(n, d), d, requestNameProblem);
      const raw = literal(v, d).trim();
      return [{ kind: 'proxy-set', name, value: raw === '' ? null : checkedValue(raw, name, d) }];
    }
    default:
      throw new SnippetRefusedError(`it is not one of the directives Portico accepts in a snippet (${ACCEPTED.join(', ')})`, d);
  }
}

/** Parses one snippet; a snippet that is not wholly made of accepted directives is refused whole. */
export function parseSnippet(text: string, level: SnippetLevel): SnippetParse {
  const lexed = lexSnippet(text);
  if (!lexed.ok) return { ok: false, line: lexed.line, directive: null, reason: lexed.message };
  const ops: SnippetOp[] = [];
  const proxied = new Set<string>();
  try {
    for (const d of lexed.directives) {
      for (const op of opsOf(d, level)) {
        // nginx sends both lines of a name given twice; Portico would send one, so it refuses the ambiguity.
        if (op.kind === 'proxy-set') {
          if (proxied.has(op.name)) throw new SnippetRefusedError(`proxy_set_header ${JSON.stringify(op.name)} is given twice`, d);
          proxied.add(op.name);
        }
        ops.push(op);
        if (ops.length > MAX_SNIPPET_OPS)
          throw new SnippetRefusedError(`the snippet holds more than ${MAX_SNIPPET_OPS} header operations`, d);
      }
    }
  } catch (e) {
    if (e instanceof SnippetRefusedError) return { ok: false, line: e.directive.line, directive: e.directive.name, reason: e.reason };
    throw e;
  }
  return { ok: true, ops };
}

/** How a refusal reads in a diagnostic. */
export function refusalText(r: Extract<SnippetParse, { ok: false }>): string {
  return r.directive === null ? `line ${r.line}: ${r.reason}` : `directive "${r.directive}" on line ${r.line}: ${r.reason}`;
}
