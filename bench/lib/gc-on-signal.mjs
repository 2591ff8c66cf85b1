// Preloaded into the processes bench/worker-footprint.ts measures (`node --expose-gc --import` this file): on
// SIGUSR2, two full garbage collections, so the resident memory read afterwards is what the process holds, not
// garbage a burst of requests left in a young generation V8 gives back only when its memory reducer gets to it.
process.on('SIGUSR2', () => {
  globalThis.gc?.();
  globalThis.gc?.();
});
