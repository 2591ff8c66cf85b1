// forwardedFacts(): who the client is behind trusted proxies, as nginx's realip module with
// real_ip_recursive on decides it (https://nginx.org/en/docs/http/ngx_http_realip_module.html).
import { describe, expect, it } from 'vitest';
import {
  type ForwardedFacts,
  forwardedFacts,
  parseTrustedProxies,
  type ProxiedFacts,
  proxiedFacts,
  type TrustedProxies,
} from '../../gateway/access/client-address.ts';
import type { ProxyHeader } from '../../gateway/access/proxy-protocol.ts';

const trust = (list: string, header?: string, full = false): TrustedProxies => {
  const t = parseTrustedProxies(list, header, full);
  if ('invalid' in t) throw new Error('bad test ranges');
  return t;
};
const LB = trust('10.0.0.0/8');

describe('forwardedFacts', () => {
  const cases: { name: string; peer: string; headers: Record<string, string>; t?: TrustedProxies; facts: ForwardedFacts | null }[] = [
    {
      name: 'an untrusted peer is the client, whatever it claims',
      peer: '203.0.113.9',
      headers: { 'x-forwarded-for': '1.2.3.4' },
      facts: null,
    },
    {
      name: 'a trusted peer names the client',
      peer: '10.0.0.5',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7' },
    },
    {
      name: 'the rightmost untrusted address of the chain, not the leftmost a client could write',
      peer: '10.0.0.5',
      headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.1.1' },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7' },
    },
    {
      name: 'a chain of trusted proxies only: the leftmost',
      peer: '10.0.0.5',
      headers: { 'x-forwarded-for': '10.9.9.9, 10.1.1.1' },
      facts: { clientIp: '10.9.9.9', forwardedFor: '10.9.9.9' },
    },
    { name: 'no header: the peer', peer: '10.0.0.5', headers: {}, facts: { clientIp: '10.0.0.5', forwardedFor: '10.0.0.5' } },
    {
      name: 'garbage in the chain ends the walk there',
      peer: '10.0.0.5',
      headers: { 'x-forwarded-for': '198.51.100.7, evil, 10.1.1.1' },
      facts: { clientIp: '10.1.1.1', forwardedFor: '10.1.1.1' },
    },
    {
      name: 'compute-full-forwarded-for keeps the chain and adds the peer',
      peer: '10.0.0.5',
      t: trust('10.0.0.0/8', undefined, true),
      headers: { 'x-forwarded-for': '198.51.100.7' },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7, 10.0.0.5' },
    },
    {
      name: 'another header (forwarded-for-header: X-Real-Client)',
      peer: '10.0.0.5',
      t: trust('10.0.0.0/8', 'X-Real-Client'),
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-real-client': '198.51.100.7' },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7' },
    },
    {
      name: 'scheme, host and port from the trusted proxy',
      peer: '10.0.0.5',
      headers: {
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-proto': 'HTTPS',
        'x-forwarded-host': 'shop.example.com',
        'x-forwarded-port': '443',
      },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7', scheme: 'https', host: 'shop.example.com', port: 443 },
    },
    {
      name: 'invalid scheme, host and port are ignored',
      peer: '10.0.0.5',
      headers: { 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'a b', 'x-forwarded-port': '99999' },
      facts: { clientIp: '10.0.0.5', forwardedFor: '10.0.0.5' },
    },
    {
      name: 'an IPv4-mapped peer in a trusted IPv4 range',
      peer: '::ffff:10.0.0.5',
      headers: { 'x-forwarded-for': '198.51.100.7' },
      facts: { clientIp: '198.51.100.7', forwardedFor: '198.51.100.7' },
    },
  ];
  for (const c of cases) it(c.name, () => expect(forwardedFacts(c.peer, (n) => c.headers[n], c.t ?? LB)).toEqual(c.facts));
});

describe('parseTrustedProxies', () => {
  it('refuses entries that are not ranges, naming them', () =>
    expect(parseTrustedProxies('10.0.0.0/8, lb, 300.1.1.1')).toEqual({ invalid: ['lb', '300.1.1.1'] }));
  it('refuses an empty list', () => expect('invalid' in parseTrustedProxies(' , ')).toBe(true));
});

// proxiedFacts(): the client on a connection that began with a PROXY header from a trusted proxy (nginx's
// real_ip_header proxy_protocol; ingress-nginx's $pass_server_port and lua_ingress.rewrite for port and scheme).
describe('proxiedFacts', () => {
  const V4: Pick<ProxyHeader, 'source' | 'destination'> = {
    source: { address: '203.0.113.5', port: 40000 },
    destination: { address: '192.0.2.10', port: 8080 },
  };
  const cases: {
    name: string;
    h: Pick<ProxyHeader, 'source' | 'destination'> | undefined;
    headers?: Record<string, string>;
    t?: TrustedProxies;
    facts: ProxiedFacts;
  }[] = [
    {
      name: 'the source address is the client, the destination port X-Forwarded-Port',
      h: V4,
      facts: { clientIp: '203.0.113.5', forwardedFor: '203.0.113.5', port: 8080 },
    },
    {
      name: 'X-Forwarded-For and -Proto a client wrote are not believed',
      h: V4,
      headers: { 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' },
      facts: { clientIp: '203.0.113.5', forwardedFor: '203.0.113.5', port: 8080 },
    },
    {
      name: 'the client connected to port 443 of the load balancer: https',
      h: { ...V4, destination: { address: '192.0.2.10', port: 443 } },
      facts: { clientIp: '203.0.113.5', forwardedFor: '203.0.113.5', port: 443, scheme: 'https' },
    },
    {
      name: 'no client named (LOCAL, UNKNOWN): the TCP peer, the listener port and scheme',
      h: { source: null, destination: null },
      facts: { clientIp: '10.0.0.5', forwardedFor: '10.0.0.5' },
    },
    { name: 'no header record on the connection: the client is unknown', h: undefined, facts: { clientIp: '', forwardedFor: '' } },
    {
      name: 'compute-full-forwarded-for: the chain, then the PROXY source address',
      h: V4,
      t: trust('10.0.0.0/8', undefined, true),
      headers: { 'x-forwarded-for': '198.51.100.7' },
      facts: { clientIp: '203.0.113.5', forwardedFor: '198.51.100.7, 203.0.113.5', port: 8080 },
    },
    {
      name: 'compute-full-forwarded-for without a chain: the PROXY source address alone',
      h: V4,
      t: trust('10.0.0.0/8', undefined, true),
      facts: { clientIp: '203.0.113.5', forwardedFor: '203.0.113.5', port: 8080 },
    },
    {
      name: 'destination port 0 is not a port to report',
      h: { ...V4, destination: { address: '192.0.2.10', port: 0 } },
      facts: { clientIp: '203.0.113.5', forwardedFor: '203.0.113.5' },
    },
  ];
  for (const c of cases) it(c.name, () => expect(proxiedFacts(c.h, '10.0.0.5', (n) => c.headers?.[n], c.t ?? LB)).toEqual(c.facts));
});
