// A route's header rules from its host's server-snippet and its Ingress's configuration-snippet: the parsed
// operations (snippet-headers.ts) played in nginx's order into the final typed rules of the table
// (gateway/table/header-rules.ts), so a worker applies a few lists and never replays text.
//
// The order, from the modules' documentation:
// - headers-more: "Directives inherited from an upper level scope (say, http block or server blocks) are executed
//   before the directives in the location block", and "Multiple set/clear header directives are allowed in a
//   single location, and they're executed sequentially": the server's operations, then the location's, the last
//   word on a name wins (a clear after a set removes it; a set after a clear sets it).
// - add_header (ngx_http_headers_module): "inherited from the previous configuration level if and only if there
//   are no add_header directives defined on the current level": a configuration-snippet with any add_header
//   replaces the server-snippet's add_header lines for that route.
// - proxy_set_header replaces what the more_*_input_headers left for the same name (the proxy module builds the
//   upstream request from its own lines first, and passes the client's headers only for other names); only a
//   configuration-snippet has them (snippet-headers.ts refuses them in a server-snippet).
import type { HeaderRules, RequestHeaderRules, ResponseHeaderRules } from '../../gateway/table/header-rules.ts';
import { compareStrings } from './objects.ts';
import type { SnippetOp } from './snippet-headers.ts';

const byName = (a: [string, string], b: [string, string]): number => compareStrings(a[0], b[0]);

function settled(m: ReadonlyMap<string, string | null>): { set: [string, string][]; removed: string[] } {
  const set: [string, string][] = [];
  const removed: string[] = [];
  for (const [name, value] of m) {
    if (value === null) removed.push(name);
    else set.push([name, value]);
  }
  return { set: set.sort(byName), removed: removed.sort(compareStrings) };
}

function responseRules(server: readonly SnippetOp[], location: readonly SnippetOp[]): ResponseHeaderRules | undefined {
  const names = new Map<string, string | null>();
  const prefixes = new Set<string>();
  for (const op of [...server, ...location]) {
    if (op.kind === 'set-response') {
      names.delete(op.name); // a name keeps the position of its last operation (Map order does not matter: sorted below)
      names.set(op.name, op.value);
    } else if (op.kind === 'clear-response-prefix') {
      const stem = op.prefix.slice(0, -1);
      for (const name of names.keys()) if (name.startsWith(stem)) names.set(name, null);
      prefixes.add(op.prefix);
    }
  }
  const { set, removed } = settled(names);
  // A name a wildcard already removes needs no entry of its own.
  const remove = [...new Set([...removed.filter((n) => ![...prefixes].some((p) => n.startsWith(p.slice(0, -1)))), ...prefixes])].sort(
    compareStrings,
  );
  const adds = (ops: readonly SnippetOp[]): Extract<SnippetOp, { kind: 'add-response' }>[] =>
    ops.filter((o): o is Extract<SnippetOp, { kind: 'add-response' }> => o.kind === 'add-response');
  const own = adds(location);
  const added = own.length > 0 ? own : adds(server);
  const add = added.filter((o) => !o.always).map((o): [string, string] => [o.name, o.value]);
  const addAlways = added.filter((o) => o.always).map((o): [string, string] => [o.name, o.value]);
  const r: ResponseHeaderRules = {
    ...(remove.length === 0 ? {} : { remove }),
    ...(set.length === 0 ? {} : { set }),
    ...(add.length === 0 ? {} : { add }),
    ...(addAlways.length === 0 ? {} : { addAlways }),
  };
  return Object.keys(r).length === 0 ? undefined : r;
}

function requestRules(server: readonly SnippetOp[], location: readonly SnippetOp[]): RequestHeaderRules | undefined {
  const names = new Map<string, string | null>();
  for (const op of [...server, ...location]) if (op.kind === 'set-input') names.set(op.name, op.value);
  for (const op of location) if (op.kind === 'proxy-set') names.set(op.name, op.value);
  const { set, removed } = settled(names);
  const r: RequestHeaderRules = { ...(set.length === 0 ? {} : { set }), ...(removed.length === 0 ? {} : { remove: removed }) };
  return Object.keys(r).length === 0 ? undefined : r;
}

/** The rules of one route, or undefined when its snippets leave nothing to do. */
export function headerRulesOf(
  server: readonly SnippetOp[] | undefined,
  location: readonly SnippetOp[] | undefined,
): HeaderRules | undefined {
  if (server === undefined && location === undefined) return undefined;
  const request = requestRules(server ?? [], location ?? []);
  const response = responseRules(server ?? [], location ?? []);
  if (request === undefined && response === undefined) return undefined;
  return { ...(request === undefined ? {} : { request }), ...(response === undefined ? {} : { response }) };
}
