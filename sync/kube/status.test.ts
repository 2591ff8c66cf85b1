// Which Ingress statuses the agent writes: pure decisions, checked without a cluster (the cluster tests
// check that the writes land).
import { describe, expect, it } from 'vitest';
import type { Ingress } from '../compile/types.ts';
import { desiredStatus, statusChanges } from './status.ts';

const ing = (name: string, lb: { ip?: string; hostname?: string }[] = []): Ingress =>
  ({ metadata: { namespace: 'ns', name }, status: { loadBalancer: { ingress: lb } } }) as Ingress;
const ours = [{ namespace: 'ns', name: 'mine' }];
const desired = desiredStatus(['203.0.113.1', 'edge.example.com']);

describe('statusChanges', () => {
  it('IPs and host names go to ip and hostname', () => expect(desired).toEqual([{ ip: '203.0.113.1' }, { hostname: 'edge.example.com' }]));
  it.each([
    ['sets our Ingress with no status', [ing('mine')], [{ ref: { namespace: 'ns', name: 'mine' }, to: desired }]],
    ['leaves our Ingress that is already right', [ing('mine', desired)], []],
    [
      'fixes our Ingress with other addresses',
      [ing('mine', [{ ip: '10.0.0.1' }])],
      [{ ref: { namespace: 'ns', name: 'mine' }, to: desired }],
    ],
    ['never touches another class with its own status', [ing('theirs', [{ ip: '10.0.0.1' }])], []],
    ['never sets another class with no status', [ing('theirs')], []],
    [
      'clears an Ingress that left our class (it still holds our addresses)',
      [ing('left', desired)],
      [{ ref: { namespace: 'ns', name: 'left' }, to: [] }],
    ],
    [
      'never clears an Ingress that was not ours, even with the same address (no fight with another controller)',
      [ing('theirs', desired)],
      [],
    ],
  ])('%s', (_n, ingresses, want) => expect(statusChanges(ingresses, ours, desired, new Set(['ns/left']))).toEqual(want));
  it('with no published addresses, clears nothing it cannot tell apart', () => {
    expect(statusChanges([ing('left')], ours, [], new Set(['ns/left']))).toEqual([]);
  });
});
