// A probe for tests, preloaded with `node --import`: appends every module the process loads, one per line, to the
// file named by $MODULE_TRACE_FILE. ES modules through a load hook (node:module register, run on the hooks thread);
// CommonJS modules through Module._resolveFilename, since in Node 20 a require() from CommonJS (ioredis and its
// dependencies) does not pass through the ES module hooks.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const out = process.env.MODULE_TRACE_FILE;
if (out) {
  register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { out } });
  const Module = createRequire(import.meta.url)('node:module');
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function traced(...args) {
    const file = resolve.apply(this, args);
    appendFileSync(out, `${file}\n`);
    return file;
  };
}
