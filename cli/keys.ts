// Key material for the Redis control plane: an Ed25519 signing pair (the agent signs table manifests,
// workers verify) and a 256-bit shared key (JWE dir/A256GCM) that encrypts TLS private keys in Redis.
// `portico keys generate --out DIR` writes them as JWK files; `--keys DIR` (or PORTICO_KEYS) loads them.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JWK } from 'jose';
import { parseFlags } from './args.ts';
import { UsageError } from './usage-error.ts';
import type { SigningKeys, VerifyingKeys } from '../gateway/table/bundle.ts';

export const KEY_FILES = {
  signPrivate: 'signing-key.jwk.json', // agent only
  signPublic: 'signing-pub.jwk.json', // workers
  encryption: 'encryption-key.jwk.json', // agent and workers
} as const;
export type KeyFile = (typeof KEY_FILES)[keyof typeof KEY_FILES];

/** A fresh key set as file name → JWK JSON text. */
export async function makeKeySet(): Promise<Record<KeyFile, string>> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const secret = await generateSecret('A256GCM', { extractable: true });
  const kid = new Date().toISOString();
  const text = (jwk: JWK) => `${JSON.stringify({ ...jwk, kid }, null, 2)}\n`;
  return {
    [KEY_FILES.signPrivate]: text({ ...(await exportJWK(privateKey)), alg: 'EdDSA', use: 'sig' }),
    [KEY_FILES.signPublic]: text({ ...(await exportJWK(publicKey)), alg: 'EdDSA', use: 'sig' }),
    [KEY_FILES.encryption]: text({ ...(await exportJWK(secret)), alg: 'dir', enc: 'A256GCM' } as JWK),
  } as Record<KeyFile, string>;
}

/** The worker's share of a key set: the public signing key and the shared key, never the signing key. */
export function workerShare(set: Record<KeyFile, string>): Record<string, string> {
  return { [KEY_FILES.signPublic]: set[KEY_FILES.signPublic], [KEY_FILES.encryption]: set[KEY_FILES.encryption] };
}

const FILE_MODES: Record<KeyFile, number> = {
  [KEY_FILES.signPrivate]: 0o600,
  [KEY_FILES.signPublic]: 0o644,
  [KEY_FILES.encryption]: 0o600,
};

/** `portico keys generate --out DIR`. */
export async function runGenerateKeys(flags: string[]): Promise<void> {
  const v = parseFlags(flags, { out: { type: 'string' } });
  if (v.out === undefined) throw new UsageError('keys generate: --out DIR is required');
  await generateKeySet(v.out);
  process.stdout.write(
    `wrote ${v.out}/{${Object.values(KEY_FILES).join(',')}}\nagent (sync): signing-key + encryption-key; workers: signing-pub + encryption-key\n`,
  );
}

export async function generateKeySet(dir: string): Promise<void> {
  const set = await makeKeySet();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(set) as [KeyFile, string][]) {
    const path = join(dir, name);
    await writeFile(path, text, { mode: FILE_MODES[name], flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(
        err.code === 'EEXIST' ? `${path} exists; refusing to overwrite a key` : `cannot write ${path}: ${err.code ?? err.message}`,
      );
    });
    await chmod(path, FILE_MODES[name]);
  }
}

/** A JWK file; `flag` names the flag it came from, for the one-line error. */
async function readJwk(path: string, flag: string, hint = ''): Promise<JWK> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}${hint}`);
  }
  try {
    return JSON.parse(text) as JWK;
  } catch {
    throw new UsageError(`--${flag}: ${path} is not a JSON Web Key`);
  }
}

const keyFile = (dir: string, name: string) => readJwk(join(dir, name), 'keys', ' (make a key set with: portico keys generate --out DIR)');

async function importOrFail(jwk: JWK, alg: string, path: string): Promise<Awaited<ReturnType<typeof importJWK>>> {
  try {
    return await importJWK(jwk, alg);
  } catch (err) {
    throw new UsageError(`--keys: ${path} is not a usable ${alg} key: ${(err as Error).message}`);
  }
}

export async function loadSigningKeys(dir: string): Promise<SigningKeys> {
  return {
    sign: await importOrFail(await keyFile(dir, KEY_FILES.signPrivate), 'EdDSA', KEY_FILES.signPrivate),
    encrypt: await importOrFail(await keyFile(dir, KEY_FILES.encryption), 'dir', KEY_FILES.encryption),
  };
}

/** What a worker needs: the public signing key and the shared decryption key, never the signing key. */
export async function loadVerifyingKeys(dir: string): Promise<VerifyingKeys> {
  return {
    verify: await importOrFail(await keyFile(dir, KEY_FILES.signPublic), 'EdDSA', KEY_FILES.signPublic),
    decrypt: await importOrFail(await keyFile(dir, KEY_FILES.encryption), 'dir', KEY_FILES.encryption),
  };
}

/** One EdDSA JWK file (a tunnel's signing key, or a peer cluster's public key), as a key. */
export async function loadJwk(path: string, flag: string): Promise<CryptoKey> {
  const key = await importOrFail(await readJwk(path, flag), 'EdDSA', path);
  if (key instanceof Uint8Array) throw new UsageError(`--${flag}: ${path} is a symmetric key, not an EdDSA key`);
  return key;
}
