// sourceAllowed(): the source-range decision alone, for the address forms runtimes report.
import { describe, expect, it } from 'vitest';
import { sourceAllowed } from '../../gateway/access/source-ranges.ts';
import type { AccessPolicy } from '../../gateway/table/schema.ts';

describe('sourceAllowed', () => {
  const cases: { name: string; policy: AccessPolicy; client: string; allowed: boolean }[] = [
    {
      name: 'a range with the high bit set (203.0.113.0/24: signed 32-bit arithmetic must not bite)',
      policy: { allow: ['203.0.113.0/24'] },
      client: '203.0.113.5',
      allowed: true,
    },
    { name: 'the same range, a client outside it', policy: { allow: ['203.0.113.0/24'] }, client: '203.0.114.5', allowed: false },
    { name: '/32 with the high bit set', policy: { deny: ['255.255.255.255'] }, client: '255.255.255.255', allowed: false },
    { name: 'a leading zero is not an address a client can have', policy: { allow: ['10.0.0.0/8'] }, client: '010.0.0.1', allowed: false },
    { name: 'no ranges: everyone', policy: {}, client: '203.0.113.9', allowed: true },
    { name: 'inside an allowed range', policy: { allow: ['10.0.0.0/8'] }, client: '10.1.2.3', allowed: true },
    { name: 'outside every allowed range', policy: { allow: ['10.0.0.0/8', '192.168.0.0/16'] }, client: '172.16.0.1', allowed: false },
    { name: 'a bare address allows exactly itself', policy: { allow: ['10.0.0.1'] }, client: '10.0.0.1', allowed: true },
    { name: 'a bare address allows nothing else', policy: { allow: ['10.0.0.1'] }, client: '10.0.0.2', allowed: false },
    {
      name: 'deny comes first, even inside an allowed range',
      policy: { allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] },
      client: '10.9.1.1',
      allowed: false,
    },
    { name: 'a deny list alone lets others through', policy: { deny: ['10.9.0.0/16'] }, client: '10.8.1.1', allowed: true },
    { name: 'IPv6 inside', policy: { allow: ['2001:db8::/32'] }, client: '2001:db8:0:1::5', allowed: true },
    { name: 'IPv6 outside', policy: { allow: ['2001:db8::/32'] }, client: '2001:db9::1', allowed: false },
    {
      name: 'an IPv4-mapped IPv6 client is its IPv4 address',
      policy: { allow: ['127.0.0.0/8'] },
      client: '::ffff:127.0.0.1',
      allowed: true,
    },
    { name: 'an IPv4 client never matches an IPv6 range', policy: { allow: ['::/0'] }, client: '127.0.0.1', allowed: false },
    { name: '0.0.0.0/0 allows every IPv4 client', policy: { allow: ['0.0.0.0/0'] }, client: '198.51.100.7', allowed: true },
    { name: 'an unreadable client address passes no allow list', policy: { allow: ['0.0.0.0/0'] }, client: '', allowed: false },
    {
      name: 'an unreadable client address is refused by a deny list too',
      policy: { deny: ['10.0.0.0/8'] },
      client: 'unix:/run/x.sock',
      allowed: false,
    },
  ];
  for (const c of cases) it(c.name, () => expect(sourceAllowed(c.policy, c.client)).toBe(c.allowed));

  it('parses a policy once and keeps answering the same', () => {
    const p: AccessPolicy = { allow: ['10.0.0.0/8'] };
    for (let i = 0; i < 3; i++) expect(sourceAllowed(p, '10.0.0.1')).toBe(true);
  });
});

describe('parseCidr refuses what could never match', () => {
  it('an IPv4-mapped IPv6 range or address (clients are compared by their IPv4 address)', async () => {
    const { parseCidr } = await import('../../gateway/table/cidr.ts');
    expect(parseCidr('::ffff:203.0.113.0/120')).toBeNull();
    expect(parseCidr('::ffff:10.0.0.1')).toBeNull();
    expect(parseCidr('203.0.113.0/24')).not.toBeNull();
  });
});
