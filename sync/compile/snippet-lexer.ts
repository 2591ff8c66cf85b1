// A small, strict lexer for the text of a snippet annotation (configuration-snippet, server-snippet): it splits
// the text into directives the way nginx's configuration reader does, so that snippet-headers.ts can recognise
// the few header directives Portico turns into typed rules. Nothing here ever becomes configuration text: the
// tokens are data for an allow-list, and anything the allow-list does not know refuses the whole snippet.
//
// The rules follow nginx's ngx_conf_read_token (src/core/ngx_conf_file.c), described here rather than copied:
// - tokens are separated by spaces, tabs, CR and LF; a directive ends at `;`, and `{` / `}` open and close a
//   block (a snippet with a block is refused: Portico accepts only simple directives);
// - `#` at the start of a token starts a comment to the end of the line (inside a token it is a character);
// - a token that starts with `"` or `'` is quoted up to the matching quote; after the closing quote nginx wants
//   a space, `;` or `{` ("unexpected ... after quoted string" otherwise); a quote inside an unquoted token is a
//   character;
// - a backslash makes the next character ordinary (a backslash before a quote does not end a quoted token) and,
//   when the token is copied, `\"`, `\'` and `\\` become the character alone and `\t`, `\r`, `\n` a tab, CR and
//   LF; any other `\x` stays as written, both characters (so `\$` is a backslash and a `$`);
// - `$` starts a variable (`${name}` included, whose `{` does not open a block): the lexer marks such tokens,
//   and the parser refuses them, because Portico never evaluates nginx variables;
// - text that ends inside a token or before the `;` of the last directive is an error ("unexpected end of file").
// Beyond nginx: a size limit, and control characters other than tab, CR and LF (NUL included) are refused.

/** The largest snippet read (bytes of UTF-16 text; ingress-nginx puts no limit, Kubernetes 256 KiB on all
 * annotations together). Header directives take a few hundred bytes; more is refused unread. */
export const MAX_SNIPPET_LENGTH = 16_384;
/** The most directives one snippet may hold. */
export const MAX_DIRECTIVES = 64;

export interface SnippetToken {
  /** The token after unescaping (quotes removed). */
  text: string;
  /** Written between quotes. */
  quoted: boolean;
  /** Holds a `$` outside the backslash rules above: nginx would expand a variable here. */
  variable: boolean;
}

export interface SnippetDirective {
  /** The directive's name (its first token, as written). */
  name: string;
  args: SnippetToken[];
  /** 1-based line of the directive's first token. */
  line: number;
}

export type LexResult = { ok: true; directives: SnippetDirective[] } | { ok: false; line: number; message: string };

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** Unescapes a token's raw text as nginx does when it copies a word (see above). */
function unescapeWord(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\' && i + 1 < raw.length) {
      const n = raw[i + 1]!;
      if (n === '"' || n === "'" || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === 't' || n === 'r' || n === 'n') {
        out += n === 't' ? '\t' : n === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Whether the raw token holds a `$` that nginx's script compiler would read as a variable. nginx has no escape
 * for `$`: `\$x` is a backslash followed by the variable `$x`, so every `$` counts. */
const hasVariable = (raw: string): boolean => raw.includes('$');

export function lexSnippet(text: string): LexResult {
  if (text.length > MAX_SNIPPET_LENGTH)
    return { ok: false, line: 1, message: `the snippet is longer than ${MAX_SNIPPET_LENGTH} characters` };
  const directives: SnippetDirective[] = [];
  let tokens: SnippetToken[] = [];
  let startLine = 1;
  let line = 1;
  let i = 0;
  const fail = (message: string): LexResult => ({ ok: false, line, message });
  while (i < text.length) {
    const c = text[i]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 && !isSpace(c)) return fail(`control character U+${code.toString(16).padStart(4, '0')} in the snippet`);
    if (code === 0x7f) return fail('control character U+007F in the snippet');
    if (c === '\n') line++;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === ';') {
      if (tokens.length === 0) return fail('unexpected ";"');
      if (directives.length === MAX_DIRECTIVES) return fail(`more than ${MAX_DIRECTIVES} directives`);
      directives.push({ name: tokens[0]!.text, args: tokens.slice(1), line: startLine });
      tokens = [];
      i++;
      continue;
    }
    if (c === '{' || c === '}') {
      const name = tokens[0]?.text;
      return fail(`a block ("${c}"${name === undefined ? '' : ` after "${name}"`}): only simple directives are accepted`);
    }
    if (tokens.length === 0) startLine = line;
    if (c === '"' || c === "'") {
      // A quoted token: up to the matching quote not preceded by an escaping backslash.
      let j = i + 1;
      for (;;) {
        if (j >= text.length) return fail(`unterminated ${c === '"' ? 'double' : 'single'}-quoted string`);
        const d = text[j]!;
        const dc = d.charCodeAt(0);
        if ((dc < 0x20 && !isSpace(d)) || dc === 0x7f)
          return fail(`control character U+${dc.toString(16).padStart(4, '0')} in the snippet`);
        if (d === '\n') line++;
        if (d === '\\' && j + 1 < text.length) {
          if (text[j + 1] === '\n') line++;
          j += 2;
          continue;
        }
        if (d === c) break;
        j++;
      }
      const raw = text.slice(i + 1, j);
      const after = text[j + 1];
      if (after !== undefined && !isSpace(after) && after !== ';' && after !== '{')
        return fail(`unexpected ${JSON.stringify(after)} after a quoted string`);
      tokens.push({ text: unescapeWord(raw), quoted: true, variable: hasVariable(raw) });
      i = j + 1;
      continue;
    }
    // An unquoted token: up to a space, `;` or `{` (a `{` right after `$` belongs to `${name}`).
    let j = i;
    // An unescaped `$` just before: nginx's `variable` flag, under which `{` belongs to `${name}`.
    let afterDollar = false;
    while (j < text.length) {
      const d = text[j]!;
      const dc = d.charCodeAt(0);
      if ((dc < 0x20 && !isSpace(d)) || dc === 0x7f) return fail(`control character U+${dc.toString(16).padStart(4, '0')} in the snippet`);
      if (d === '\\' && j + 1 < text.length) {
        if (text[j + 1] === '\n') line++;
        afterDollar = false;
        j += 2;
        continue;
      }
      if (isSpace(d) || d === ';' || (d === '{' && !afterDollar)) break;
      afterDollar = d === '$';
      j++;
    }
    const raw = text.slice(i, j);
    tokens.push({ text: unescapeWord(raw), quoted: false, variable: hasVariable(raw) });
    i = j;
  }
  if (tokens.length > 0) return fail(`unexpected end of the snippet: "${tokens[0]!.text}" is not ended by ";"`);
  return { ok: true, directives };
}
