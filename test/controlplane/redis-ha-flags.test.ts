// Where Redis is, from flags (cli/redis-target-flags.ts): exactly one of --redis, --redis-sentinels (with
// --redis-sentinel-master) or --redis-cluster-nodes, for every Redis-fed command; anything conflicting or
// malformed is one line on stderr and exit code 2, before anything connects.
import { describe, expect, it } from 'vitest';
import { parseRedisTarget, type RedisTargetFlagValues } from '../../cli/redis-target-flags.ts';
import { UsageError } from '../../cli/usage-error.ts';
import { runPortico } from '../support/process.ts';

describe('accepted topologies', () => {
  const cases: { name: string; flags: RedisTargetFlagValues; env?: Record<string, string>; target: unknown }[] = [
    { name: 'a URL', flags: { redis: 'redis://r:6379' }, target: 'redis://r:6379' },
    { name: 'the URL from the environment', flags: {}, env: { PORTICO_REDIS_URL: 'rediss://r:6380' }, target: 'rediss://r:6380' },
    {
      name: 'sentinels and a master name, the sentinel password from the environment',
      flags: { 'redis-sentinels': 's1:26379, s2:26379,[::1]:26380', 'redis-sentinel-master': 'portico' },
      env: { PORTICO_REDIS_SENTINEL_PASSWORD: 'sp' },
      target: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        master: 'portico',
        sentinelPassword: 'sp',
      },
    },
    {
      name: 'Sentinel wins over a URL in the environment (an explicit flag beats a default)',
      flags: { 'redis-sentinels': 's1:26379', 'redis-sentinel-master': 'm' },
      env: { PORTICO_REDIS_URL: 'redis://r:6379' },
      target: { sentinels: [{ host: 's1', port: 26379 }], master: 'm' },
    },
    {
      name: 'Sentinel from the environment (what the Helm chart sets)',
      flags: {},
      env: { PORTICO_REDIS_SENTINELS: 's1:26379', PORTICO_REDIS_SENTINEL_MASTER: 'm' },
      target: { sentinels: [{ host: 's1', port: 26379 }], master: 'm' },
    },
    {
      name: 'cluster seed nodes from the environment',
      flags: {},
      env: { PORTICO_REDIS_CLUSTER_NODES: 'n1:7000' },
      target: { clusterNodes: [{ host: 'n1', port: 7000 }] },
    },
    {
      name: 'cluster seed nodes',
      flags: { 'redis-cluster-nodes': 'n1:7000,n2:7001' },
      target: {
        clusterNodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
        ],
      },
    },
  ];
  it.each(cases)('$name', ({ flags, env, target }) => {
    expect(parseRedisTarget(flags, env ?? {})).toEqual(target);
  });
});

describe('refused with one line and exit code 2', () => {
  const common = ['--cluster', 'x', '--keys', '/tmp'];
  const cases: { name: string; args: string[]; error: RegExp }[] = [
    {
      name: 'worker: --redis and --redis-sentinels',
      args: ['worker', '--redis', 'redis://127.0.0.1:1', '--redis-sentinels', 'a:1', '--redis-sentinel-master', 'm', ...common],
      error: /^--redis and --redis-sentinels: give exactly one of --redis, --redis-sentinels, --redis-cluster-nodes$/,
    },
    {
      name: 'sync: --redis-sentinels and --redis-cluster-nodes',
      args: [
        'sync',
        '--manifests',
        '/tmp',
        '--redis-sentinels',
        'a:1',
        '--redis-sentinel-master',
        'm',
        '--redis-cluster-nodes',
        'b:2',
        ...common,
      ],
      error: /give exactly one of --redis, --redis-sentinels, --redis-cluster-nodes$/,
    },
    {
      name: 'tunnel: --redis-sentinels without a master name',
      args: ['tunnel', '--redis-sentinels', 'a:1', ...common],
      error: /^--redis-sentinels: --redis-sentinel-master NAME is required/,
    },
    {
      name: 'inspect: --redis-sentinel-master without sentinels',
      args: ['inspect', 'status', '--redis', 'redis://127.0.0.1:1', '--redis-sentinel-master', 'm'],
      error: /^--redis-sentinel-master: only meaningful with --redis-sentinels$/,
    },
    {
      name: 'dashboard: a cluster node without a port',
      args: ['dashboard', '--redis-cluster-nodes', 'n1:7000,n2'],
      error: /^--redis-cluster-nodes: expected host:port\[,host:port\.\.\.\], got "n2"/,
    },
  ];
  it.each(cases)('$name', ({ args, error }) => {
    const r = runPortico(args, { PORTICO_REDIS_URL: '' });
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.replace(/^portico: /, '')).toMatch(error);
  });
});

describe('malformed values, refused by the parser every command uses', () => {
  const cases: { name: string; flags: RedisTargetFlagValues; env?: Record<string, string>; error: RegExp }[] = [
    {
      name: 'a port out of range',
      flags: { 'redis-sentinels': 'a:70000', 'redis-sentinel-master': 'm' },
      error: /^--redis-sentinels: expected host:port/,
    },
    {
      name: 'an empty item in the list',
      flags: { 'redis-cluster-nodes': 'a:1,,b:2' },
      error: /^--redis-cluster-nodes: expected host:port/,
    },
    {
      name: 'a master name with a space',
      flags: { 'redis-sentinels': 'a:1', 'redis-sentinel-master': 'my master' },
      error: /^--redis-sentinel-master: expected a name of letters/,
    },
    {
      name: '--redis-sentinel-ca without sentinels',
      flags: { 'redis-cluster-nodes': 'a:1', 'redis-sentinel-ca': '/tmp/ca.crt' },
      error: /^--redis-sentinel-ca: only meaningful with --redis-sentinels$/,
    },
    {
      name: 'no Redis at all',
      flags: {},
      error: /^--redis URL \(or PORTICO_REDIS_URL\), --redis-sentinels .* or --redis-cluster-nodes .* is required$/,
    },
    { name: 'a URL that is not redis://', flags: { redis: 'http://r:6379' }, error: /^--redis: expected a redis:\/\/ or rediss:\/\/ URL/ },
    {
      name: 'two modes in the environment',
      flags: {},
      env: { PORTICO_REDIS_URL: 'redis://r:1', PORTICO_REDIS_CLUSTER_NODES: 'n:1' },
      error: /^\$PORTICO_REDIS_URL and \$PORTICO_REDIS_CLUSTER_NODES: give exactly one of/,
    },
    {
      name: 'a sentinel master name in the environment beside a URL flag',
      flags: { redis: 'redis://r:1' },
      env: { PORTICO_REDIS_SENTINEL_MASTER: 'm' },
      error: /^\$PORTICO_REDIS_SENTINEL_MASTER: only meaningful with --redis-sentinels$/,
    },
  ];
  it.each(cases)('$name', ({ flags, env, error }) => {
    let thrown: unknown;
    try {
      parseRedisTarget(flags, env ?? {});
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as UsageError).exitCode).toBe(2);
    expect((thrown as Error).message).toMatch(error);
  });
});
