// How ingress-nginx's annotation parser reads the values several annotation families share
// (internal/ingress/annotations/parser): booleans and comma-separated lists.

/** What Go's strconv.ParseBool reads (parser.GetBoolAnnotation), or undefined for anything else. */
export function goBool(text: string): boolean | undefined {
  switch (text.trim()) {
    case 'true':
    case 'True':
    case 'TRUE':
    case 't':
    case 'T':
    case '1':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
    case 'f':
    case 'F':
    case '0':
      return false;
    default:
      return undefined;
  }
}

/** `a, b,,a` → `["a", "b"]`: the entries of a comma-separated list, trimmed, blanks and repeats left out. */
export function commaList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== ''),
    ),
  ];
}
