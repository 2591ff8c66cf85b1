// Prints the README's support matrix from the case table: `node --import tsx test/runtimes/matrix.ts`.
import { AFTER_UPDATE, CASES } from './cases.ts';
import type { RuntimeName } from './launch.ts';

const RUNTIMES: RuntimeName[] = ['node', 'deno', 'workerd'];
const all = [...CASES, ...AFTER_UPDATE];
const notes: string[] = [];
const cell = (reason: string | undefined): string => {
  if (reason === undefined) return 'yes';
  let i = notes.indexOf(reason);
  if (i === -1) i = notes.push(reason) - 1;
  return `no (${i + 1})`;
};
const lines = ['| case | Node | Deno | workerd |', '|---|---|---|---|'];
for (const c of all) lines.push(`| ${c.name} | ${RUNTIMES.map((r) => cell(c.unsupported?.[r])).join(' | ')} |`);
const count = (r: RuntimeName) => all.filter((c) => c.unsupported?.[r] === undefined).length;
lines.push(`| **cases passed** | ${RUNTIMES.map((r) => `**${count(r)}/${all.length}**`).join(' | ')} |`, '');
for (const [i, n] of notes.entries()) lines.push(`${i + 1}. ${n}`);
process.stdout.write(`${lines.join('\n')}\n`);
