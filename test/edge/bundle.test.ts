// The manifest of a table bundle is a JWS the agent signs; a worker serves only what a manifest of type
// `portico.table` names. The type is checked twice, in the protected header (RFC 7515 4.1.9 `typ`, covered by
// the signature) and in the payload, so that anything else the same key signs (or will sign) can never be
// replayed as a table manifest: each row is signed with the real agent key unless it says otherwise, so only
// the type can be what refuses it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { base64url, CompactSign, generateKeyPair, type CryptoKey, type CompactJWSHeaderParameters } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { sealBundle, verifyManifest, type Key, type Manifest, type SigningKeys, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { compile } from '../../sync/compile/index.ts';
import { ingress, objects, ourClass, service } from '../support/manifests.ts';

let dir: string;
let signing: SigningKeys;
let verifying: VerifyingKeys;
let stranger: CryptoKey;
/** The manifest as the agent seals it: the protected header and the payload. */
let header: CompactJWSHeaderParameters;
let payload: Manifest;

const TABLE = compile(
  objects(
    ourClass(),
    service('web', [{ address: '10.0.0.1', port: 8080 }]),
    ingress('shop', { host: 'shop.example.com', paths: [{ path: '/', service: 'web' }] }),
  ),
).table;

beforeAll(async () => {
  // The key files `portico keys generate` writes, loaded as the agent and a worker load them.
  dir = await mkdtemp(join(tmpdir(), 'portico-bundle-'));
  await generateKeySet(join(dir, 'keys'));
  signing = await loadSigningKeys(join(dir, 'keys'));
  verifying = await loadVerifyingKeys(join(dir, 'keys'));
  stranger = (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey;
  const sealed = await sealBundle(
    TABLE,
    [],
    { cluster: 'prod', seq: 7, publishedAt: '2026-01-01T00:00:00.000Z', publisher: 'agent-0' },
    signing,
  );
  const [h, p] = sealed.manifest.split('.');
  header = JSON.parse(new TextDecoder().decode(base64url.decode(h!))) as CompactJWSHeaderParameters;
  payload = JSON.parse(new TextDecoder().decode(base64url.decode(p!))) as Manifest;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sign(h: CompactJWSHeaderParameters, p: unknown, key: Key): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(p))).setProtectedHeader(h).sign(key);
}

interface Case {
  name: string;
  header?: (h: CompactJWSHeaderParameters) => CompactJWSHeaderParameters;
  payload?: (p: Manifest) => Record<string, unknown>;
  /** Signed by the agent's key unless `stranger`. */
  signer?: 'agent' | 'stranger';
  /** The BundleError code, or null: accepted. */
  code: string | null;
}

const CASES: Case[] = [
  { name: 'the manifest as sealed, re-signed unchanged by the agent key: accepted', code: null },
  {
    name: 'another typ in the protected header (a JWT the same key signed)',
    header: (h) => ({ ...h, typ: 'JWT' }),
    code: 'PORTICO_BUNDLE_SIGNATURE',
  },
  { name: 'no typ in the protected header', header: ({ typ: _typ, ...h }) => h, code: 'PORTICO_BUNDLE_SIGNATURE' },
  { name: 'another typ in the payload', payload: (p) => ({ ...p, typ: 'portico.peer' }), code: 'PORTICO_BUNDLE_MANIFEST' },
  { name: 'no typ in the payload', payload: ({ typ: _typ, ...p }) => p, code: 'PORTICO_BUNDLE_MANIFEST' },
  {
    name: 'another typ in both',
    header: (h) => ({ ...h, typ: 'portico.other' }),
    payload: (p) => ({ ...p, typ: 'portico.other' }),
    code: 'PORTICO_BUNDLE_SIGNATURE',
  },
  { name: 'the manifest as sealed, signed by another key', signer: 'stranger', code: 'PORTICO_BUNDLE_SIGNATURE' },
  { name: 'the manifest of another cluster', payload: (p) => ({ ...p, cluster: 'staging' }), code: 'PORTICO_BUNDLE_CLUSTER' },
];

describe('verifyManifest(): the type of a correctly signed manifest', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const jws = await sign(
        c.header?.(header) ?? header,
        c.payload?.(payload) ?? payload,
        c.signer === 'stranger' ? stranger : signing.sign,
      );
      const verified = verifyManifest(jws, verifying, { cluster: 'prod', version: TABLE.version });
      if (c.code === null) expect(await verified).toMatchObject({ typ: 'portico.table', cluster: 'prod', version: TABLE.version, seq: 7 });
      else await expect(verified).rejects.toMatchObject({ code: c.code });
    });
  }
});
