import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayElements } from './json-elements.ts';

describe('arrayElements: the top-level elements of a compact JSON array', () => {
  const cases: { name: string; text: string; expected: string[] | null }[] = [
    { name: 'empty array', text: '[]', expected: [] },
    { name: 'one object', text: '[{"a":1}]', expected: ['{"a":1}'] },
    { name: 'nested arrays and objects', text: '[{"a":[1,{"b":[2,3]}]},[4,5],6]', expected: ['{"a":[1,{"b":[2,3]}]}', '[4,5]', '6'] },
    { name: 'commas and brackets inside strings', text: '["a,b","[c]","{d}"]', expected: ['"a,b"', '"[c]"', '"{d}"'] },
    { name: 'escaped quotes and backslashes', text: '["x\\"y,z","\\\\",1]', expected: ['"x\\"y,z"', '"\\\\"', '1'] },
    { name: 'whitespace (not the compact form)', text: '[1, 2]', expected: null },
    { name: 'not an array', text: '{"a":1}', expected: null },
    { name: 'empty element', text: '[1,,2]', expected: null },
    { name: 'trailing comma', text: '[1,]', expected: null },
    { name: 'unbalanced', text: '[{"a":1]', expected: null },
    { name: 'unterminated string', text: '["abc]', expected: null },
    { name: 'too short', text: '[', expected: null },
  ];
  for (const c of cases) it(c.name, () => expect(arrayElements(c.text)).toEqual(c.expected));

  it('any array JSON.stringify writes splits into texts that parse to its elements', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), (xs) => {
        const parts = arrayElements(JSON.stringify(xs));
        expect(parts?.map((p) => JSON.parse(p))).toEqual(JSON.parse(JSON.stringify(xs)));
      }),
      { numRuns: 500 },
    );
  });
});
