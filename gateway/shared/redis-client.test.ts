// What Redis targets look like in logs and errors: never a password, whatever it holds.
import { describe, expect, it } from 'vitest';
import { describeTarget } from './redis-client.ts';

describe('describeTarget', () => {
  it.each([
    { name: 'no userinfo', url: 'redis://redis.portico:6379/0', shown: 'redis://redis.portico:6379/0' },
    { name: 'a password', url: 'redis://:s3cret@redis:6379', shown: 'redis://***@redis:6379' },
    { name: 'a user and a password', url: 'rediss://portico:s3cret@redis:6380', shown: 'rediss://***@redis:6380' },
    { name: 'an @ in the password', url: 'redis://:p@ss@redis:6379', shown: 'redis://***@redis:6379' },
    { name: 'a / in the password', url: 'redis://:a/b@redis:6379', shown: 'redis://***@redis:6379' },
  ])('$name', ({ url, shown }) => {
    expect(describeTarget(url)).toBe(shown);
    expect(describeTarget(url)).not.toMatch(/s3cret|ss@|a\/b/);
  });

  it('Sentinel and Cluster targets name their nodes only', () => {
    expect(describeTarget({ sentinels: [{ host: '10.0.0.1', port: 26379 }], master: 'mymaster' })).toBe(
      'sentinel master mymaster via 10.0.0.1:26379',
    );
    expect(describeTarget({ clusterNodes: [{ host: '10.0.0.2', port: 7000 }] })).toBe('cluster via 10.0.0.2:7000');
  });
});
