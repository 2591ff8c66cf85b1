#!/usr/bin/env node
// `npx portico ...` from a checkout runs the TypeScript sources through tsx (a development dependency), so an edit
// is live without a build step and a stale dist/ can never run by mistake. Where there are no sources (a package
// or an image holding only the compiled build), it runs dist/, which `npm run build` writes.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/portico.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import(new URL('../dist/cli/portico.js', import.meta.url).href);
}
