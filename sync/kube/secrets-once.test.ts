// A Secret both watched (TLS) and read by name (--default-ssl-certificate here) reaches the compiler once, so a
// later change compiles incrementally, and that result is still the full compile's.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../gateway/table/canonical.ts';
import { compile } from '../compile/index.ts';
import { IncrementalCompiler } from '../compile/incremental.ts';
import type { ClusterObjects, CompileResult, Secret } from '../compile/types.ts';
import { makeCert } from '../../test/compile/certs.ts';
import { app, cls, ingress, objects, prefix, rule, secret, tls } from '../../test/support/builders.ts';
import { secretsOnce } from './secrets-once.ts';

const cert = makeCert({ cn: 'a.example', sans: ['a.example', 'b.example'], key: 'ec' });
const options = { defaultSslCertificate: 'default/wild' };
/** The watched copy, and the copy read by name: equal content, two objects (as the agent holds them). */
const watched = secret('wild', cert);
const byName = structuredClone(watched) as Secret;

const world = (second: string): ClusterObjects =>
  objects(
    cls(),
    app('web'),
    ingress('a', { rules: [rule('a.example', prefix('/', 'web'))], tls: [tls('wild', 'a.example')] }),
    ingress('b', { rules: [rule('b.example', prefix(second, 'web'))] }),
  );
const withSecrets = (o: ClusterObjects, secrets: Secret[]): ClusterObjects => ({ ...o, secrets });
const same = (r: CompileResult) => ({ table: canonicalJson(r.table), diagnostics: r.diagnostics, accepted: r.accepted });

describe('secretsOnce', () => {
  it.each([
    ['a Secret both watched and read by name is passed once, the watched copy', [watched], [byName], [watched]],
    ['a Secret only read by name is passed', [], [byName], [byName]],
    ['watched Secrets are all passed', [watched], [], [watched]],
  ] as const)('%s', (_name, w, n, expected) => {
    const out = secretsOnce(w, n);
    expect(out).toHaveLength(expected.length);
    for (const [i, s] of out.entries()) expect(s).toBe(expected[i]); // the very objects, not equal copies
  });
});

describe('an Ingress change while the default certificate Secret is both watched and read by name', () => {
  it.each([
    // The control: both copies passed, as before secretsOnce, every compile is a full one.
    ['both copies passed: a full compile', [watched, byName], 'full'],
    ['passed once (secretsOnce): an incremental compile', secretsOnce([watched], [byName]), 'partial'],
  ] as const)('%s, equal to compile()', (_name, secrets, kind) => {
    const c = new IncrementalCompiler(options);
    c.compile(withSecrets(world('/'), [...secrets]));
    const after = withSecrets(world('/v2'), [...secrets]);
    const before = { ...c.stats };
    const result = c.compile(after);
    expect(kind === 'full' ? c.stats.full - before.full : c.stats.partial - before.partial).toBe(1);
    expect(same(result)).toEqual(same(compile(after, options)));
    expect(result.table.hosts.map((h) => h.host)).toEqual(['a.example', 'b.example']);
  });
});
