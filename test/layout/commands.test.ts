// A thin command line: each command loads only what it uses (its static import graph, followed file by file
// from its module), and `portico COMMAND --help` prints that command's own usage, never every command's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every Portico file and every package a module loads at startup: static imports only (an `import()` is lazy). */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    // `import type` is erased by the compiler and loads nothing.
    for (const m of text.matchAll(/^(?:import|export)(?!\s+type\s)[^;'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
      const spec = m[1] ?? m[2]!;
      if (spec.startsWith('.')) visit(relative(root, resolve(root, dirname(file), spec)));
      else if (!spec.startsWith('node:')) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('each command loads only what it uses', () => {
  const cases: { name: string; module: string; never: { files?: RegExp; packages?: string[] } }[] = [
    {
      name: 'the entry point loads no command',
      module: 'cli/portico.ts',
      never: {
        files: /^(sync|gateway\/(proxy|runtime|source|tunnel|inspect))\//,
        packages: ['@kubernetes/client-node', 'ioredis', 'undici', 'hono'],
      },
    },
    {
      name: 'worker: no agent, no Kubernetes client, no compiler',
      module: 'cli/worker.ts',
      never: { files: /^sync\//, packages: ['@kubernetes/client-node'] },
    },
    {
      name: 'tunnel: no agent, no Kubernetes client',
      module: 'cli/tunnel.ts',
      never: { files: /^sync\//, packages: ['@kubernetes/client-node'] },
    },
    {
      name: 'dashboard: no agent, no request path',
      module: 'cli/dashboard.ts',
      never: { files: /^(sync|gateway\/(proxy|tunnel))\//, packages: ['@kubernetes/client-node', 'undici'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const g = staticGraph(c.module);
      expect(g.files.size).toBeGreaterThan(0);
      if (c.never.files) expect([...g.files].filter((f) => c.never.files!.test(f))).toEqual([]);
      for (const p of c.never.packages ?? []) expect(g.packages.has(p), `${c.module} loads ${p}`).toBe(false);
    });
  }

  it('the graph walk sees through to packages (the agent does load the Kubernetes client)', () => {
    expect(staticGraph('cli/sync.ts').packages.has('@kubernetes/client-node')).toBe(true);
  });
});

describe('portico COMMAND --help prints that command alone', () => {
  const help = (...args: string[]): string =>
    execFileSync(process.execPath, ['--import', 'tsx', 'cli/portico.ts', ...args], { cwd: root, encoding: 'utf8' });
  const cases: { command: string; usage: string }[] = [
    { command: 'local', usage: 'usage: portico local ' },
    { command: 'worker', usage: 'usage: portico worker ' },
    { command: 'sync', usage: 'usage: portico sync ' },
    { command: 'tunnel', usage: 'usage: portico tunnel ' },
    { command: 'keys', usage: 'usage: portico keys ' },
    { command: 'inspect', usage: 'usage: portico inspect ' },
    { command: 'dashboard', usage: 'usage: portico dashboard ' },
  ];
  for (const c of cases) {
    it(c.command, () => {
      const out = help(c.command, '--help');
      expect(out.startsWith(c.usage)).toBe(true);
      expect(out.match(/usage: portico /g)).toHaveLength(1);
    });
  }
  it('portico --help lists every command, one line each', () => {
    const out = help('--help');
    for (const c of cases) expect(out).toMatch(new RegExp(`^  ${c.command} +\\S`, 'm'));
  });
});
