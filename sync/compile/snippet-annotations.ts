// configuration-snippet and server-snippet: read through the strict header parser (snippet-headers.ts). A snippet
// it accepts becomes header rules (the configuration-snippet on the Ingress's routes, the server-snippet on every
// route of its hosts); one it refuses keeps failing closed as every snippet did before (access-control.ts): its
// routes (or, for server-snippet, its hosts) answer 503, with a diagnostic that names the directive and its line.
// ingress-nginx's ConfigMap key allow-snippet-annotations (off by default since v1.9) does not gate this: Portico
// runs no snippet text, it reads a few literal header directives out of it.
// Only the ingress-nginx spelling is read; `portico.dev/*-snippet` stays a fail-closed guard. auth-snippet and
// modsecurity-snippet are not read at all (they configure authentication and a WAF).
import type { UnenforcedGuard } from './access-control.ts';
import { NGINX_PREFIX } from './annotation-prefixes.ts';
import type { Fields } from './objects.ts';
import { parseSnippet, refusalText, type SnippetLevel, type SnippetOp } from './snippet-headers.ts';
import type { DiagnosticCode } from './types.ts';

export const CONFIGURATION_SNIPPET = `${NGINX_PREFIX}configuration-snippet`;
export const SERVER_SNIPPET = `${NGINX_PREFIX}server-snippet`;

/** The operations of the snippets an Ingress has and Portico accepted (absent: none, or refused). */
export interface SnippetRequest {
  /** configuration-snippet: the Ingress's own routes (nginx locations). */
  location?: SnippetOp[];
  /** server-snippet: every route of the Ingress's hosts (the nginx server), when this Ingress is the oldest with one. */
  server?: SnippetOp[];
}

export interface ParsedSnippets {
  request: SnippetRequest;
  /** Refused snippets: guards that close what they would have applied to. */
  malformed: UnenforcedGuard[];
  problems: { code: DiagnosticCode; message: string }[];
  consumed: Set<string>;
}

const SNIPPETS: readonly { key: string; level: SnippetLevel }[] = [
  { key: CONFIGURATION_SNIPPET, level: 'location' },
  { key: SERVER_SNIPPET, level: 'server' },
];

export function parseSnippetAnnotations(annotations: Fields): ParsedSnippets {
  const out: ParsedSnippets = { request: {}, malformed: [], problems: [], consumed: new Set() };
  for (const { key, level } of SNIPPETS) {
    if (!Object.hasOwn(annotations, key)) continue;
    out.consumed.add(key);
    const raw = annotations[key];
    const parsed = typeof raw === 'string' ? parseSnippet(raw, level) : null;
    if (parsed?.ok === true) {
      out.request[level] = parsed.ops;
      continue;
    }
    const scope = level === 'server' ? 'hosts' : 'routes';
    out.malformed.push({ key, scope });
    const where = scope === 'hosts' ? "every route of this Ingress's hosts answers" : 'the routes of this Ingress answer';
    const why = parsed === null ? 'it is not text' : refusalText(parsed);
    out.problems.push({
      code: 'AccessControlNotEnforced',
      message: `annotation ${JSON.stringify(key)} is refused (${why}); snippets are never run as configuration, only literal header directives are read from them, so ${where} 503 (fail closed)`,
    });
  }
  return out;
}
