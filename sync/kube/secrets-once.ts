// The Secrets the compiler sees: every watched one, then those read by name (auth-secrets.ts) that the watch does not
// hold. A Secret can be both: a kubernetes.io/tls Secret the TLS watch holds that --default-ssl-certificate or an
// annotation also names (read by name because the watch may be narrowed by --secret-label-selector). Passed twice, it
// made the object store hold two objects with one namespace/name, and the incremental compiler (which keys objects by
// namespace/name, sync/compile/incremental.ts) compiled in full on every change while that lasted. The watched copy
// is the one kept: it follows every change at once, the one read by name only on the next scheduled read.
interface Named {
  metadata?: { namespace?: string; name?: string };
}

const keyOf = (o: Named): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** `watched`, then the objects of `byName` whose namespace/name no watched object has. */
export function secretsOnce<T extends Named>(watched: readonly T[], byName: readonly T[]): T[] {
  if (byName.length === 0) return [...watched];
  const have = new Set(watched.map(keyOf));
  return [...watched, ...byName.filter((s) => !have.has(keyOf(s)))];
}
