// The addresses --publish-service takes from a Service, per type, as ingress-nginx's statusAddressFromService
// (internal/ingress/status/status.go) reads them.
import { describe, expect, it } from 'vitest';
import type { Service } from '../compile/types.ts';
import { publishServiceAddresses } from './publish-service.ts';

const svc = (spec: Record<string, unknown>, lb: { ip?: string; hostname?: string }[] = []): Service =>
  ({ metadata: { namespace: 'edge', name: 'lb' }, spec, status: { loadBalancer: { ingress: lb } } }) as Service;
const REF = { namespace: 'edge', name: 'lb' };

describe('publishServiceAddresses', () => {
  it.each<[string, Service, string[]]>([
    [
      'LoadBalancer: its load balancer IPs and host names, then externalIPs',
      svc({ type: 'LoadBalancer', clusterIP: '10.96.0.9', externalIPs: ['192.0.2.1'] }, [
        { ip: '203.0.113.1' },
        { hostname: 'lb.example.net' },
      ]),
      ['203.0.113.1', 'lb.example.net', '192.0.2.1'],
    ],
    ['LoadBalancer still pending: nothing (never the cluster IP)', svc({ type: 'LoadBalancer', clusterIP: '10.96.0.9' }), []],
    ['NodePort with externalIPs: those', svc({ type: 'NodePort', clusterIP: '10.96.0.9', externalIPs: ['192.0.2.1'] }), ['192.0.2.1']],
    ['NodePort without: the cluster IP', svc({ type: 'NodePort', clusterIP: '10.96.0.9' }), ['10.96.0.9']],
    ['ClusterIP: the cluster IP', svc({ type: 'ClusterIP', clusterIP: '10.96.0.9' }), ['10.96.0.9']],
    ['no type means ClusterIP', svc({ clusterIP: '10.96.0.9' }), ['10.96.0.9']],
    ['ExternalName: the name', svc({ type: 'ExternalName', externalName: 'edge.example.net' }), ['edge.example.net']],
  ])('%s', (_n, s, want) => expect(publishServiceAddresses([s], REF)).toEqual(want));

  it('a Service that does not exist: null (status is left alone)', () =>
    expect(publishServiceAddresses([svc({ type: 'ClusterIP', clusterIP: '10.96.0.9' })], { namespace: 'edge', name: 'other' })).toBeNull());
});
