// What a build of the Dockerfile would get wrong silently, checked without building it (test/build/image.test.ts
// builds and runs the image where podman can): that the image copies the compiled build and .dockerignore keeps
// it in the context, that every package the command imports (the import graph from cli/portico.ts, which dist/
// is compiled from) is a production dependency (the image installs with --omit=dev), and that the image runs
// the compiled entry as the non-root user the chart's securityContext names.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/process.ts';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const lines = dockerfile
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const finalStage = lines.slice(lines.map((l) => l.startsWith('FROM ')).lastIndexOf(true));
/** Context paths the runtime stage copies (not from another stage). */
const copied = finalStage.filter((l) => l.startsWith('COPY ') && !l.includes('--from=')).flatMap((l) => l.split(/\s+/).slice(1, -1));
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

// Runtime imports only: `import type` / `export type` are erased by the compiler and load nothing.
const IMPORT = /^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (!existsSync(target)) throw new Error(`${relative(ROOT, file)} imports ${spec}, which does not exist`);
        todo.push(target);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

const isIgnored = (path: string) =>
  ignored.some((p) => {
    // Docker's patterns: `**/` is any number of directories, `*` anything within one path segment.
    const body = p
      .split('**/')
      .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
      .join('(?:.*/)?');
    const re = new RegExp(`^${body}(?:/.*)?$`);
    return re.test(path);
  });

describe('Dockerfile', () => {
  const graph = importGraph(join(ROOT, 'cli/portico.ts'));

  it('the runtime stage copies the compiled build, and .dockerignore keeps it in the context', () => {
    expect(graph.files.size).toBeGreaterThan(40);
    expect(copied).toEqual(expect.arrayContaining(['dist', 'package.json']));
    expect(isIgnored('dist/cli/portico.js')).toBe(false);
    expect(isIgnored('dist/gateway/runtime/node.js')).toBe(false);
  });

  it('every package the entry point imports is a production dependency (installed with --omit=dev)', () => {
    expect(lines.some((l) => /npm ci .*--omit=dev/.test(l))).toBe(true);
    const notProd = [...graph.packages].filter((p) => !(p in pkg.dependencies));
    expect(notProd).toEqual([]);
    expect([...graph.packages]).toContain('@kubernetes/client-node');
    expect(pkg.dependencies).not.toHaveProperty('tsx'); // the image runs dist/: no transpiler in production
  });

  it('sources and tests are left out of the image', () => {
    expect(isIgnored('gateway/table/table.test.ts')).toBe(true);
    expect(isIgnored('test/helm/chart.test.ts')).toBe(true);
    expect(isIgnored('cli/portico.ts')).toBe(true);
  });

  it("runs as uid 65532 (the chart's runAsUser) through the portico entry point", () => {
    expect(finalStage.filter((l) => l.startsWith('USER '))).toEqual(['USER 65532:65532']);
    expect(finalStage.at(-1)).toBe('ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/portico.js"]');
    // The bases are build arguments (a machine that cannot pull passes its own); their defaults are the published ones.
    expect(finalStage[0]).toBe(['FROM $', '{BASE}'].join('')); // the ${...} of a Dockerfile, not a template
    expect(lines).toContain('ARG BASE=gcr.io/distroless/nodejs20-debian12:nonroot');
    expect(lines).toContain('ARG DEPS_BASE=node:20.20.2-bookworm-slim');
  });
});
