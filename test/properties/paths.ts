// Generators and reference semantics shared by the path properties: request paths built from the pieces that
// path-confusion attacks are made of, and the RFC 3986 reading a backend gives the path it receives.
import fc from 'fast-check';

/** Segments that mean something to a decoder, a dot-segment resolver or a slash merger, plus plain names that
 * rules are written with. Upper and lower case hex both appear: RFC 3986 §2.1 makes them equivalent. */
export const SEGMENTS = [
  'p',
  'q',
  'admin',
  'x',
  '',
  '.',
  '..',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2e',
  '%2E.',
  '..%2f',
  '%2f',
  '%2F',
  '%2f..',
  '%2F%2e%2e',
  '%5c',
  '\\',
  '..\\',
  '%00',
  '%70', // `p`, encoded: unreserved, so it must match rules for `p` (RFC 3986 §6.2.2.2)
  '%61dmin',
  '%252e', // a double encoding: one decode gives `%2e`, which is not a dot segment
  '%25',
  '%',
  '%zz',
  '%2',
  ';',
  '..;',
  'é',
  '%C3%A9',
  '\u{1F600}',
  '~',
] as const;

/** A request path as sent: always starts with `/` (origin-form, RFC 9112 §3.2.1), then segments joined by
 * `/`, sometimes by `//` or `/%2F/`. */
export const requestPath: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.constantFrom(...SEGMENTS), fc.constantFrom('/', '/', '/', '//', '%2F')), { maxLength: 8 })
  .map((parts) => `/${parts.map(([s, sep], i) => (i === 0 ? s : `${sep}${s}`)).join('')}`);

/** Percent-decodes every `%XX` (RFC 3986 §2.1), each byte to the Latin-1 character of the same code: what matters
 * here is where `/` and `.` end up, and those are ASCII whatever the encoding of the rest. */
export function decodeAll(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/** RFC 3986 §5.2.4 remove_dot_segments, written out step by step from the RFC (not from the gateway's code). */
export function removeDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../')) {
      input = input.slice(3);
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '/..') {
      input = '/';
      output = output.slice(0, Math.max(0, output.lastIndexOf('/')));
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const seg = next === -1 ? input : input.slice(0, next);
      output += seg;
      input = input.slice(seg.length);
    }
  }
  return output;
}

/** What a backend that decodes the path and resolves its dot segments serves for it. */
export const backendView = (forwarded: string): string => removeDotSegments(decodeAll(forwarded));

/** Whether `path` lies under the Prefix rule `prefix` (table form: no trailing `/`, "" for `/`), by whole
 * elements as Kubernetes defines Prefix matching. */
export function within(prefix: string, path: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}
