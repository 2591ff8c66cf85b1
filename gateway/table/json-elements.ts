// The top-level elements of a JSON array, as the texts they were written as. A worker that opens a changed part of
// a table (a bucket of host or backend entries, bundle.ts) parses only the entries whose text it has not seen in the
// same part of the table it serves: one Ingress changed is one entry parsed, validated and indexed, not the ~128 of
// its bucket. Hand-written because it is a scan for commas at depth zero outside strings, not a parser: what it
// returns is still parsed by JSON.parse, and a text it does not understand (whitespace, anything but a compact
// array) makes it return null, for the caller to parse the whole text instead.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** `[a,b,c]` (compact, as canonical JSON is written) → the texts of a, b and c; `[]` → []; anything else → null. */
export function arrayElements(text: string): string[] | null {
  const end = text.length - 1;
  if (end < 1 || text.charCodeAt(0) !== OPEN_ARRAY || text.charCodeAt(end) !== CLOSE_ARRAY) return null;
  if (end === 1) return [];
  const out: string[] = [];
  let depth = 0;
  let start = 1;
  for (let i = 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // To the closing quote, stepping over escapes (RFC 8259 §7).
      for (i++; i < end; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
      if (i >= end) return null;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) depth++;
    else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (--depth < 0) return null;
    } else if (c === COMMA && depth === 0) {
      if (i === start) return null;
      out.push(text.slice(start, i));
      start = i + 1;
    } else if (c <= 0x20) return null; // whitespace: not the compact form
  }
  if (depth !== 0 || start === end) return null;
  out.push(text.slice(start, end));
  return out;
}
