// Property of bundle verification (gateway/table/bundle.ts): with a real key set (`portico keys generate`), any
// single byte of the signed manifest or of any part changed to any other value is refused by verifyManifest() or
// openBundle(), with a BundleError: never a different table served. The one change that may pass is one that does
// not change what is verified (a base64url character whose unused low bits alone differ, RFC 4648 §3.5: the same
// signature bytes); then what is served must be byte for byte the original.
// A failure prints fast-check's seed and shrunk flip; to replay it, pass `{ seed, path }` from that output in
// fc.assert's options (https://fast-check.dev/docs/advanced/replay/).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeySet, loadSigningKeys, loadVerifyingKeys } from '../../cli/keys.ts';
import { type Bundle, BundleError, openBundle, sealBundle, verifyManifest, type VerifyingKeys } from '../../gateway/table/bundle.ts';
import { serializeTable } from '../../gateway/table/canonical.ts';
import { compile } from '../../sync/compile/index.ts';
import type { CompileResult } from '../../sync/compile/types.ts';
import { makeCert } from '../compile/certs.ts';
import { ingress, objects, ourClass, service, tlsSecret } from '../support/manifests.ts';

const CLUSTER = 'prod';
const cert = makeCert({ cn: 'shop.example', sans: ['shop.example'], key: 'ec' });

/** A table with routes, a backend, a certificate (so a `keys` part holding a JWE) and several hosts. */
const COMPILED: CompileResult = compile(
  objects(
    ourClass(),
    service('web', [{ address: '10.0.0.1', port: 8080 }]),
    service('api', [{ address: '10.0.0.2', port: 9090 }]),
    tlsSecret('shop-tls', cert.certPem, cert.keyPem),
    ingress('shop', {
      host: 'shop.example',
      tls: [{ hosts: ['shop.example'], secretName: 'shop-tls' }],
      paths: [
        { path: '/', service: 'web' },
        { path: '/api', service: 'api' },
      ],
    }),
    ingress('docs', { host: 'docs.example', paths: [{ path: '/guide', pathType: 'Exact', service: 'web' }] }),
  ),
);

let dir: string;
let verifying: VerifyingKeys;
let bundle: Bundle;
let partNames: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portico-props-bundle-'));
  await generateKeySet(join(dir, 'keys'));
  verifying = await loadVerifyingKeys(join(dir, 'keys'));
  const signing = await loadSigningKeys(join(dir, 'keys'));
  bundle = await sealBundle(
    COMPILED.table,
    COMPILED.certificates,
    { cluster: CLUSTER, seq: 3, publishedAt: '2026-01-01T00:00:00.000Z', publisher: 'agent-0' },
    signing,
  );
  partNames = [...bundle.parts.keys()];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Served = { kind: 'refused'; code: string } | { kind: 'served'; table: string; keys: string };

async function serve(b: Bundle): Promise<Served> {
  try {
    const m = await verifyManifest(b.manifest, verifying, { cluster: CLUSTER, version: COMPILED.table.version });
    const opened = await openBundle(m, async (ref) => b.parts.get(ref.name) ?? null, verifying);
    return { kind: 'served', table: serializeTable(opened.table), keys: JSON.stringify(opened.certificates) };
  } catch (err) {
    // Only the bundle's own refusal counts: a TypeError from half-checked input would be a crash, not a verdict.
    if (err instanceof BundleError) return { kind: 'refused', code: err.code };
    throw err;
  }
}

/** Which bytes to change: the manifest's or a part's (index into the list), where, and to what (XOR, never 0). */
const flip = fc.record({
  target: fc.nat(),
  at: fc.nat(),
  xor: fc.integer({ min: 1, max: 255 }),
});

function flipped(b: Bundle, f: { target: number; at: number; xor: number }): { bundle: Bundle; where: string } {
  const t = f.target % (partNames.length + 1);
  if (t === partNames.length) {
    const bytes = new TextEncoder().encode(b.manifest);
    const i = f.at % bytes.length;
    bytes[i]! ^= f.xor;
    return { bundle: { manifest: new TextDecoder().decode(bytes), parts: b.parts }, where: `manifest[${i}]` };
  }
  const name = partNames[t]!;
  const bytes = Uint8Array.from(b.parts.get(name)!);
  const i = f.at % bytes.length;
  bytes[i]! ^= f.xor;
  return { bundle: { manifest: b.manifest, parts: new Map(b.parts).set(name, bytes) }, where: `${name}[${i}]` };
}

describe('a bundle with one byte changed', () => {
  it('sanity: the bundle as sealed is served, and has a keys part', async () => {
    expect(partNames).toContain('keys/0');
    const s = await serve(bundle);
    expect(s.kind).toBe('served');
    if (s.kind === 'served') expect(s.table).toBe(serializeTable(COMPILED.table));
  });

  it('is refused, or serves exactly the original table and keys', async () => {
    const original = await serve(bundle);
    await fc.assert(
      fc.asyncProperty(flip, async (f) => {
        const { bundle: b, where } = flipped(bundle, f);
        const s = await serve(b);
        if (s.kind === 'served') expect(s, `${where} ^ ${f.xor} was served`).toEqual(original);
      }),
      { numRuns: 300 },
    );
  });

  it('of a part is always refused, with the digest code', async () => {
    await fc.assert(
      fc.asyncProperty(flip, async (f) => {
        const { bundle: b } = flipped(bundle, { ...f, target: f.target % partNames.length });
        expect(await serve(b)).toEqual({ kind: 'refused', code: 'PORTICO_BUNDLE_DIGEST' });
      }),
      { numRuns: 200 },
    );
  });

  it('of the manifest is refused unless only unused base64url bits changed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const { bundle: b } = flipped(bundle, { target: partNames.length, at, xor });
        const s = await serve(b);
        // Same decoded bytes in every segment: nothing that is verified changed.
        const same = b.manifest.split('.').every((seg, i) => {
          const orig = bundle.manifest.split('.')[i];
          return orig !== undefined && /^[A-Za-z0-9_-]*$/.test(seg) && Buffer.from(seg, 'base64url').equals(Buffer.from(orig, 'base64url'));
        });
        if (!same) expect(s.kind).toBe('refused');
      }),
      { numRuns: 300 },
    );
  });
});
