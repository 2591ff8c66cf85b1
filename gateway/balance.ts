// Endpoint choice: round-robin over a backend's ready endpoints. The counter lives per backend id and
// survives table swaps, so a swap does not send the next burst of requests to the first endpoint again.
import type { Backend } from './table/schema.ts';

export class RoundRobin {
  private readonly next = new Map<string, number>();

  /** Index of the endpoint to try first; callers try `(start + k) % n` for k = 0.. on connect failure. */
  start(backend: Backend): number {
    const n = backend.endpoints.length;
    const i = this.next.get(backend.id) ?? 0;
    this.next.set(backend.id, i + 1 >= n ? 0 : i + 1);
    return i < n ? i : 0;
  }

  /** Forgets counters of backends that are gone, so the map does not grow with churn. */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.next.keys()) if (!ids.has(id)) this.next.delete(id);
  }
}
