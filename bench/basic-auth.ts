// Time to refuse a wrong password for a user the Secret names, against a user it does not name (not a test): both
// pay one hash check, so the answer's timing does not tell a client which user names exist. bcrypt at cost 10,
// the cost htpasswd -B uses by default.
// Run: node --import tsx bench/basic-auth.ts
import bcrypt from 'bcryptjs';
import { BasicAuthCache, basicAuthVerdict } from '../gateway/access/basic-auth.ts';
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
