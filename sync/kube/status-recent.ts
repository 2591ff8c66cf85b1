// Status writes already made but not yet seen in the agent's view. Status rounds run on the snapshot of the
// compile pass that asked for them; during a burst of new Ingresses the next round's snapshot was often taken
// while the previous round was still writing, so it showed those Ingresses without a status and the round wrote
// them all again (a bulk of 1,000 Ingresses cost several thousand PATCHes). A write is skipped when the round's
// snapshot holds the same object version (resourceVersion) the write was planned from, i.e. it has not seen
// anything since, and the same addresses are to be written. Any newer version of the object (our own write coming
// back through the watch, or someone else's) makes the plan trusted again.
import type { Ingress } from '../compile/types.ts';
import type { StatusChange } from './status.ts';

/** `namespace/name` → resourceVersion of each Ingress in a snapshot (the watch keeps it; the compiler ignores it). */
export const resourceVersions = (ingresses: readonly Ingress[]): Map<string, string | undefined> =>
  new Map(
    ingresses.map((i) => [
      `${i.metadata?.namespace ?? ''}/${i.metadata?.name ?? ''}`,
      (i.metadata as { resourceVersion?: string } | undefined)?.resourceVersion,
    ]),
  );

const keyOf = (c: StatusChange): string => `${c.ref.namespace}/${c.ref.name}`;

export class RecentStatusWrites {
  /** By `namespace/name`: the resourceVersion the write was planned from, and what it wrote. */
  private readonly written = new Map<string, { from: string; to: string }>();

  /** Whether `change`, planned from an object at `resourceVersion`, was written already from that same version. */
  done(change: StatusChange, resourceVersion: string | undefined): boolean {
    const w = this.written.get(keyOf(change));
    return w !== undefined && resourceVersion !== undefined && w.from === resourceVersion && w.to === JSON.stringify(change.to);
  }

  record(change: StatusChange, resourceVersion: string | undefined): void {
    if (resourceVersion !== undefined) this.written.set(keyOf(change), { from: resourceVersion, to: JSON.stringify(change.to) });
  }

  /** Drops what the view has moved past (or that no longer exists), so the map stays as large as the backlog. */
  prune(versions: ReadonlyMap<string, string | undefined>): void {
    for (const [key, w] of this.written) if (versions.get(key) !== w.from) this.written.delete(key);
  }

  /** A new leader trusts nothing of what an earlier term wrote. */
  clear(): void {
    this.written.clear();
  }
}
