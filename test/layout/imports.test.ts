// The import rules between parts (biome.jsonc, docs/ARCHITECTURE.md "Parts") catch what they are for: each
// forbidden arrow is planted in a scratch copy of the layout and must fail the linter with its message, and
// each allowed arrow must pass. The real tree is checked by `npm test` itself (`biome ci`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const biome = join(root, 'node_modules', '.bin', 'biome');
const scratch = mkdtempSync(join(tmpdir(), 'portico-layout-'));
copyFileSync(join(root, 'biome.jsonc'), join(scratch, 'biome.jsonc'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
/** Lints one planted file (plus companions) in the scratch copy: the rule diagnostics it gets, or [] when it passes. */
function lint(files: Record<string, string>): string[] {
  const dir = join(scratch, `case-${++n}`);
  mkdirSync(dir);
  copyFileSync(join(scratch, 'biome.jsonc'), join(dir, 'biome.jsonc'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  try {
    execFileSync(biome, ['lint', '--colors=off', '--vcs-enabled=false', '--max-diagnostics=50', ...Object.keys(files)], {
      cwd: dir,
      stdio: 'pipe',
    });
    return [];
  } catch (e) {
    const out = String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '');
    const found = [...out.matchAll(/lint\/\w+\/(\w+)[^\n]*\n[\s\S]*?× ([^\n]+)/g)].map((m) => `${m[1]}: ${m[2]}`);
    // Biome failing for another reason (a broken config, a missing binary) must not read as "no diagnostics".
    if (found.length === 0) throw new Error(`biome lint failed without a lint diagnostic:\n${out}`);
    return found;
  }
}

const use = (specifier: string): string => `import { x } from '${specifier}';\nexport const y = x;\n`;

describe('forbidden arrows fail the linter', () => {
  const cases: { name: string; file: string; specifier: string; message: RegExp }[] = [
    {
      name: 'the contract imports the agent',
      file: 'gateway/table/schema.ts',
      specifier: '../../sync/compile/index.ts',
      message: /gateway\/table\/ is the contract/,
    },
    {
      name: 'the contract imports the edge',
      file: 'gateway/table/match.ts',
      specifier: '../balance.ts',
      message: /gateway\/table\/ is the contract/,
    },
    {
      name: 'a shared helper imports the edge',
      file: 'gateway/shared/single-flight.ts',
      specifier: '../live.ts',
      message: /gateway\/shared\/ holds helpers/,
    },
    {
      name: 'the edge imports the agent',
      file: 'gateway/decide.ts',
      specifier: '../sync/compile/index.ts',
      message: /never imports the agent/,
    },
    {
      name: 'the proxy imports the agent',
      file: 'gateway/proxy/node-forwarder.ts',
      specifier: '../../sync/kube/agent.ts',
      message: /never imports the agent/,
    },
    {
      name: 'the edge imports the command line',
      file: 'gateway/runtime/node.ts',
      specifier: '../../cli/log.ts',
      message: /Only cli\/ wires parts together/,
    },
    {
      name: 'the proxy imports the tunnel',
      file: 'gateway/proxy/pools.ts',
      specifier: '../tunnel/relay.ts',
      message: /never imports the tunnel/,
    },
    {
      name: 'an edge root file imports the tunnel',
      file: 'gateway/app.ts',
      specifier: './tunnel/peers.ts',
      message: /never imports the tunnel/,
    },
    {
      name: 'a table follower imports inspection',
      file: 'gateway/source/redis.ts',
      specifier: '../inspect/read.ts',
      message: /Inspection .* no serving part imports it/,
    },
    {
      name: 'access control imports the agent',
      file: 'gateway/access/gate.ts',
      specifier: '../../sync/compile/index.ts',
      message: /never imports the agent/,
    },
    {
      name: 'the tunnel imports the agent',
      file: 'gateway/tunnel/server.ts',
      specifier: '../../sync/publish/redis.ts',
      message: /never imports the agent/,
    },
    {
      name: 'inspection imports the agent',
      file: 'gateway/inspect/read.ts',
      specifier: '../../sync/compile/types.ts',
      message: /never imports the agent/,
    },
    {
      name: 'inspection imports the tunnel',
      file: 'gateway/inspect/views.ts',
      specifier: '../tunnel/peers.ts',
      message: /never imports the tunnel/,
    },
    {
      name: 'the agent imports the edge',
      file: 'sync/kube/agent.ts',
      specifier: '../../gateway/live.ts',
      message: /sync\/ may import only gateway\/table\//,
    },
    {
      name: 'the agent imports the proxy',
      file: 'sync/publish/loop.ts',
      specifier: '../../gateway/proxy/pools.ts',
      message: /sync\/ may import only gateway\/table\//,
    },
    {
      name: 'the agent imports the command line',
      file: 'sync/manifests.ts',
      specifier: '../cli/log.ts',
      message: /Only cli\/ wires parts together/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} (${c.file} → ${c.specifier})`, () => {
      const found = lint({ [c.file]: use(c.specifier) });
      expect(found).toEqual([expect.stringMatching(/^noRestrictedImports: /)]);
      expect(found[0]).toMatch(c.message);
    });
  }

  it('an import cycle between two modules', () => {
    const found = lint({ 'gateway/a.ts': use('./b.ts'), 'gateway/b.ts': use('./a.ts') });
    expect(found.filter((f) => f.startsWith('noImportCycles: '))).toHaveLength(2);
  });
});

describe('allowed arrows pass', () => {
  const cases: { name: string; file: string; specifier: string }[] = [
    { name: 'the agent imports the contract', file: 'sync/compile/index.ts', specifier: '../../gateway/table/canonical.ts' },
    { name: 'the agent imports a shared helper', file: 'sync/kube/agent.ts', specifier: '../../gateway/shared/single-flight.ts' },
    { name: 'the edge imports the contract', file: 'gateway/proxy/pools.ts', specifier: '../table/tunnel-protocol.ts' },
    { name: 'the tunnel imports the proxy', file: 'gateway/tunnel/relay.ts', specifier: '../proxy/headers.ts' },
    { name: 'inspection asks the edge', file: 'gateway/inspect/views.ts', specifier: '../decide.ts' },
    { name: 'the command line wires the agent', file: 'cli/sync.ts', specifier: '../sync/kube/agent.ts' },
    { name: 'the contract imports itself', file: 'gateway/table/validate.ts', specifier: './canonical.ts' },
  ];
  for (const c of cases) it(`${c.name} (${c.file} → ${c.specifier})`, () => expect(lint({ [c.file]: use(c.specifier) })).toEqual([]));
});

describe('formatting is checked like the import rules (`npm test` runs `biome ci`)', () => {
  const ci = (text: string): { ok: boolean; out: string } => {
    const dir = join(scratch, `fmt-${++n}`);
    mkdirSync(join(dir, 'gateway'), { recursive: true });
    copyFileSync(join(scratch, 'biome.jsonc'), join(dir, 'biome.jsonc'));
    writeFileSync(join(dir, 'gateway', 'x.ts'), text);
    try {
      execFileSync(biome, ['ci', '--colors=off', '--vcs-enabled=false', 'gateway/x.ts'], { cwd: dir, stdio: 'pipe' });
      return { ok: true, out: '' };
    } catch (e) {
      return { ok: false, out: String((e as { stdout?: Buffer }).stdout ?? '') + String((e as { stderr?: Buffer }).stderr ?? '') };
    }
  };
  it('formatted code passes', () => expect(ci("export const x = { a: 1, b: 'two' };\n").ok).toBe(true));
  it('unformatted code fails, naming the file', () => {
    const r = ci('export const x = {a:1,   b:"two"}\n');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/gateway\/x\.ts format/);
  });
});
