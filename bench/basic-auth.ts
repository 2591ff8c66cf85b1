// Time to refuse a wrong password for a user the Secret names, against a user it does not name (not a test): both
// pay one hash check, so the answer's timing does not tell a client which user names exist. bcrypt at cost 10,
// the cost htpasswd -B uses by default. Then the per-request cost of digest authentication (below).
// Run: node --import tsx bench/basic-auth.ts
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { BasicAuthCache, basicAuthVerdict } from '../gateway/access/basic-auth.ts';
import {
  DIGEST_DEFAULTS,
  digestAuthVerdict,
  digestResponse,
  digestState,
  issueNonce,
  nonceKeyFrom,
} from '../gateway/access/digest-auth.ts';
import { type BasicAuthMaterial, basicAuthMaterialMap, basicAuthRevision } from '../gateway/table/basic-auth.ts';

const material: BasicAuthMaterial = {
  secret: 'default/users',
  type: 'auth-file',
  users: [{ user: 'alice', hash: bcrypt.hashSync('s3cret', 10) }],
};
const policy = { realm: 'bench', secret: 'default/users', type: 'auth-file', revision: basicAuthRevision(material) } as const;
const map = basicAuthMaterialMap([material]);
const header = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function time(name: string, n: number, authorization: string): Promise<number> {
  const cache = new BasicAuthCache();
  for (let i = 0; i < 3; i++) await basicAuthVerdict(policy, authorization, map, cache);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const v = await basicAuthVerdict(policy, authorization, map, cache);
    if (v.kind !== 'respond' || v.status !== 401) throw new Error(`${name}: expected 401`);
  }
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`${name.padEnd(40)} ${us.toFixed(0).padStart(8)} µs/request`);
  return us;
}

const N = 40;
// Interleaved twice, so a slow moment of the shared machine does not land on one side only.
const known = [await time('known user, wrong password', N, header('alice', 'guess'))];
const unknown = [await time('unknown user', N, header('mallory', 'guess'))];
known.push(await time('known user, wrong password', N, header('alice', 'guess')));
unknown.push(await time('unknown user', N, header('mallory', 'guess')));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\nunknown / known: ${(mean(unknown) / mean(known)).toFixed(2)}`);

// Digest authentication (auth-type digest) per request, against basic authentication answered from its cache
// (what a browser's repeated requests cost with basic auth): the challenge (HMAC over a new nonce), a right
// response (two MD5s for the response, the nonce's HMAC, the nonce-count record, two MD5s for rspauth), a wrong
// one (the same hashing, then a new challenge). Pure functions over this process's state; no sockets.
const digestMaterial: BasicAuthMaterial = {
  secret: 'default/digest',
  type: 'auth-file',
  scheme: 'digest',
  realm: 'bench',
  users: [{ user: 'alice', hash: createHash('md5').update('alice:bench:s3cret').digest('hex') }],
};
const digestPolicy = {
  realm: 'bench',
  secret: 'default/digest',
  type: 'auth-file',
  scheme: 'digest',
  revision: basicAuthRevision(digestMaterial),
} as const;
const digestMap = basicAuthMaterialMap([digestMaterial]);
const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const state = digestState(nonceKeyFrom(new Uint8Array(32)));

function digestTime(name: string, n: number, right: boolean): number {
  // The clients' headers first (their hashing is the client's cost, not the gateway's): a new nonce when the
  // counts of one are used up, as a client told stale="true" would take.
  const requests: { authorization: string; clientIp: string }[] = [];
  let nonce = '';
  let nc: number = DIGEST_DEFAULTS.replays;
  for (let i = 0; i < n; i++) {
    if (nc >= DIGEST_DEFAULTS.replays) {
      nonce = issueNonce(state.key, Date.now());
      nc = 1;
    }
    const c = { nonce, uri: '/api/items?page=2', qop: 'auth', nc: (nc++).toString(16).padStart(8, '0'), cnonce: 'c0ffee' };
    const ha1 = right ? digestMaterial.users[0]!.hash : md5('alice:bench:guess');
    requests.push({
      authorization: `Digest username="alice", realm="bench", nonce="${nonce}", uri="${c.uri}", qop=auth, nc=${c.nc}, cnonce="${c.cnonce}", response="${digestResponse(ha1, c, 'GET')}"`,
      // A distinct client address per wrong answer, so the lock-out after five failures does not end the loop early.
      clientIp: right ? '192.0.2.1' : `10.${(i >> 8) & 255}.${i & 255}.1`,
    });
  }
  const t0 = process.hrtime.bigint();
  for (const r of requests) {
    const v = digestAuthVerdict(digestPolicy, { method: 'GET', uri: '/api/items?page=2', ...r }, digestMap, state);
    if ((v.kind === 'pass') !== right) throw new Error(`${name}: unexpected verdict`);
  }
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`${name.padEnd(40)} ${us.toFixed(1).padStart(8)} µs/request`);
  return us;
}

function challengeTime(n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++)
    digestAuthVerdict(digestPolicy, { method: 'GET', uri: '/', clientIp: '192.0.2.2', authorization: null }, digestMap, state);
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`${'digest: the challenge (no credentials)'.padEnd(40)} ${us.toFixed(1).padStart(8)} µs/request`);
  return us;
}

async function basicCachedTime(n: number): Promise<number> {
  const cache = new BasicAuthCache();
  const authorization = header('alice', 's3cret');
  await basicAuthVerdict(policy, authorization, map, cache);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++)
    if ((await basicAuthVerdict(policy, authorization, map, cache)).kind !== 'pass') throw new Error('basic: expected a pass');
  const us = Number(process.hrtime.bigint() - t0) / n / 1000;
  console.log(`${'basic: right password, from the cache'.padEnd(40)} ${us.toFixed(1).padStart(8)} µs/request`);
  return us;
}

console.log('');
const D = 20_000;
digestTime('warm-up', 2_000, true);
const basicCached = await basicCachedTime(D);
const right = digestTime('digest: right response', D, true);
const wrong = digestTime('digest: wrong response', D, false);
const challenged = challengeTime(D);
console.log(
  `\ndigest right / basic cached: ${(right / basicCached).toFixed(2)}; wrong / right: ${(wrong / right).toFixed(2)}; challenge / right: ${(challenged / right).toFixed(2)}`,
);
