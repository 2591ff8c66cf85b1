// Errors as classes with stable codes and one base: every error class of the product extends PorticoError
// (directly or through another), so how a command ends (message, code, exit status) is decided in one place.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const productFiles = execFileSync('git', ['ls-files', 'gateway', 'sync', 'cli'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'));

describe('one error base', () => {
  const classes = new Map<string, string>(); // class → what it extends
  for (const f of productFiles) {
    for (const m of readFileSync(join(root, f), 'utf8').matchAll(/class (\w+) extends (\w+)/g)) {
      if (m[1]!.endsWith('Error')) classes.set(m[1]!, m[2]!);
    }
  }
  const rootOf = (name: string): string => {
    let n = classes.get(name)!;
    for (let i = 0; i < 10 && n !== 'PorticoError' && classes.has(n); i++) n = classes.get(n)!;
    return n;
  };

  it('finds the error classes it checks', () => expect(classes.size).toBeGreaterThan(15));
  for (const [name] of classes)
    if (name !== 'PorticoError') it(`${name} extends PorticoError`, () => expect(rootOf(name)).toBe('PorticoError'));
});
