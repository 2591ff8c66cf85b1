// A real redis-server with the key sets the control-plane tests sign with: the agent's, and another
// (an attacker's, or another cluster's) whose signatures workers must refuse.
import { join } from 'node:path';
import type { Redis } from 'ioredis';
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
