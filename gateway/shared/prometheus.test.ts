import { describe, expect, it } from 'vitest';
import { exposition, single } from './prometheus.ts';

describe('exposition', () => {
  const cases: { name: string; families: Parameters<typeof exposition>[0]; text: string }[] = [
    {
      name: 'a single gauge',
      families: [single('portico_x', 'gauge', 'An x.', 2)],
      text: '# HELP portico_x An x.\n# TYPE portico_x gauge\nportico_x 2\n',
    },
    {
      name: 'labels, with the characters the format escapes',
      families: [
        { name: 'portico_r', type: 'counter', help: 'R.', samples: [{ labels: { route: 'a "b"\\c\nd', status: '200' }, value: 1 }] },
      ],
      text: '# HELP portico_r R.\n# TYPE portico_r counter\nportico_r{route="a \\"b\\"\\\\c\\nd",status="200"} 1\n',
    },
    {
      name: 'a family with no sample still has HELP and TYPE',
      families: [{ name: 'portico_e', type: 'counter', help: 'E.', samples: [] }],
      text: '# HELP portico_e E.\n# TYPE portico_e counter\n',
    },
    {
      name: 'histogram parts carry their own names',
      families: [
        {
          name: 'portico_h',
          type: 'histogram',
          help: 'H.',
          samples: [
            { name: 'portico_h_bucket', labels: { le: '+Inf' }, value: 3 },
            { name: 'portico_h_count', value: 3 },
          ],
        },
      ],
      text: '# HELP portico_h H.\n# TYPE portico_h histogram\nportico_h_bucket{le="+Inf"} 3\nportico_h_count 3\n',
    },
  ];
  for (const c of cases) it(c.name, () => expect(exposition(c.families)).toBe(c.text));
});
