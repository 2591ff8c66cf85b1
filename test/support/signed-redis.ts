// A real redis-server with the key sets the control-plane tests sign with: the agent's, and another
// (an attacker's, or another cluster's) whose signatures workers must refuse.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import type { SigningKeys, VerifyingKeys } from '../../gateway/table/bundle.ts';
import { startRedis, type RedisServer } from './redis.ts';

export interface SignedRedis {
  server: RedisServer;
  redis: Redis;
  signing: SigningKeys;
  otherSigning: SigningKeys;
  verifying: VerifyingKeys;
}

/** Starts the server and writes both key sets under `dir` (keys/ and other/). */
export async function startSignedRedis(dir: string): Promise<SignedRedis> {
  const server = await startRedis();
  await generateKeySet(join(dir, 'keys'));
  await generateKeySet(join(dir, 'other'));
  return {
    server,
    redis: server.client(),
    signing: await loadSigningKeys(join(dir, 'keys')),
    otherSigning: await loadSigningKeys(join(dir, 'other')),
    verifying: await loadVerifyingKeys(join(dir, 'keys')),
  };
}

/** A test file's SignedRedis: started before its tests, stopped (and its key directory removed) after them, with a
 * cluster name of its own for each test (`<prefix>1`, `<prefix>2`, …), so the tests share one server without seeing
 * each other's keys. Read the fields inside tests and hooks, not at module level (they are set in beforeAll). */
export interface SignedRedisFixture extends SignedRedis {
  readonly cluster: string;
}

export function useSignedRedis(prefix: string): SignedRedisFixture {
  const dir = mkdtempSync(join(tmpdir(), `portico-${prefix}-`));
  const fixture = { cluster: `${prefix}0` } as { -readonly [K in keyof SignedRedisFixture]: SignedRedisFixture[K] };
  let n = 0;
  beforeAll(async () => {
    Object.assign(fixture, await startSignedRedis(dir));
  });
  afterAll(async () => {
    fixture.redis?.disconnect();
    await fixture.server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    fixture.cluster = `${prefix}${++n}`;
  });
  return fixture;
}
