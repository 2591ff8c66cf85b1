// Which Ingress statuses the agent writes and what its ledger records: pure decisions, checked without a
// cluster (test/k8s/takeover.test.ts checks that the writes land and survive restarts).
import { describe, expect, it } from 'vitest';
import type { Ingress } from '../compile/types.ts';
import { desiredStatus, planStatus, type LedgerEntry, type LoadBalancerIngress } from './status.ts';

const ing = (name: string, lb: LoadBalancerIngress[] = [], uid = `uid-${name}`): Ingress =>
  ({ metadata: { namespace: 'ns', name, uid }, status: { loadBalancer: { ingress: lb } } }) as Ingress;
const ours = [{ namespace: 'ns', name: 'mine' }];
const desired = desiredStatus(['203.0.113.1', 'edge.example.com']);
const nginx = { ip: '198.51.100.7' };
const ref = (name: string) => ({ namespace: 'ns', name });
const entry = (name: string, addresses: LoadBalancerIngress[] = desired): [string, LedgerEntry] => [
  `ns/${name}`,
  { uid: `uid-${name}`, addresses },
];

describe('planStatus', () => {
  it('IPs and host names go to ip and hostname', () => expect(desired).toEqual([{ ip: '203.0.113.1' }, { hostname: 'edge.example.com' }]));

  it.each<
    [
      string,
      Ingress[],
      [string, LedgerEntry][],
      { changes: { ref: { namespace: string; name: string }; to: LoadBalancerIngress[] }[]; after: [string, LedgerEntry][] },
    ]
  >([
    [
      'sets our Ingress with no status, and records it',
      [ing('mine')],
      [],
      { changes: [{ ref: ref('mine'), to: desired }], after: [entry('mine')] },
    ],
    [
      'leaves our Ingress that is already right (recorded)',
      [ing('mine', desired)],
      [entry('mine')],
      { changes: [], after: [entry('mine')] },
    ],
    ['does not claim an address it did not write, even when it is right', [ing('mine', desired)], [], { changes: [], after: [] }],
    [
      'replaces other addresses on our Ingress',
      [ing('mine', [nginx])],
      [],
      { changes: [{ ref: ref('mine'), to: desired }], after: [entry('mine')] },
    ],
    ['never touches an Ingress not ours that it never wrote', [ing('theirs', [nginx])], [], { changes: [], after: [] }],
    ['never clears an Ingress not ours with the same address it did not write', [ing('theirs', desired)], [], { changes: [], after: [] }],
    [
      'clears what it wrote when the Ingress left its classes',
      [ing('left', desired)],
      [entry('left')],
      { changes: [{ ref: ref('left'), to: [] }], after: [] },
    ],
    [
      'takes out only its own addresses, leaving one ingress-nginx wrote',
      [ing('left', [...desired, nginx])],
      [entry('left')],
      { changes: [{ ref: ref('left'), to: [nginx] }], after: [] },
    ],
    ['forgets an entry another controller already overwrote', [ing('left', [nginx])], [entry('left')], { changes: [], after: [] }],
    [
      'never clears a re-created Ingress of the same name (another uid)',
      [ing('left', desired, 'uid-new')],
      [entry('left')],
      { changes: [], after: [] },
    ],
    ['forgets entries of Ingresses that are gone', [], [entry('gone')], { changes: [], after: [] }],
  ])('%s', (_n, ingresses, ledger, want) => {
    const plan = planStatus(ingresses, ours, desired, new Map(ledger));
    expect(plan.changes).toEqual(want.changes);
    expect([...plan.after]).toEqual(want.after);
    // Every address about to be written to our Ingress is in the ledger stored before the write.
    for (const c of plan.changes) if (c.ref.name === 'mine') expect(plan.before.get(`ns/${c.ref.name}`)?.addresses).toEqual(c.to);
  });

  it('moves our Ingresses to new addresses when the published ones change (a new load balancer address)', () => {
    const next = desiredStatus(['203.0.113.99']);
    const plan = planStatus([ing('mine', desired)], ours, next, new Map([entry('mine')]));
    expect(plan.changes).toEqual([{ ref: ref('mine'), to: next }]);
    expect(plan.after.get('ns/mine')?.addresses).toEqual(next);
  });

  it('with no published addresses (a load balancer not provisioned yet) takes its own back out and writes nothing else', () => {
    const plan = planStatus([ing('mine', [...desired, nginx])], ours, [], new Map([entry('mine')]));
    expect(plan.changes).toEqual([{ ref: ref('mine'), to: [nginx] }]);
  });

  it('while the publish Service does not exist (addresses unknown) leaves our statuses and keeps the record', () => {
    const plan = planStatus([ing('mine', desired)], ours, null, new Map([entry('mine')]));
    expect(plan.changes).toEqual([]);
    expect([...plan.after]).toEqual([entry('mine')]);
  });
});
