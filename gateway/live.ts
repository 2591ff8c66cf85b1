// The table a worker serves right now. A swap validates and compiles the new table first and then
// replaces one reference, so a request that already holds the old matcher finishes on it (docs/ARCHITECTURE.md,
// "Data flow") and a table that fails validation never replaces the last good one.
import type { TableGauges } from './metrics.ts';
import { compileMatcher, type Matcher } from './table/match.ts';
import type { CertificateMaterial, RoutingTable } from './table/schema.ts';
import { assertValidTable } from './table/validate.ts';
import { PorticoError } from './table/portico-error.ts';

export interface LoadedTable {
  readonly matcher: Matcher;
  readonly certificates: ReadonlyMap<string, CertificateMaterial>;
  /** ms since epoch */
  readonly loadedAt: number;
}

export type SwapListener = (next: LoadedTable, previous: LoadedTable | null) => void;

export class LiveTable {
  current: LoadedTable | null = null;
  swaps = 0;
  refusals = 0;
  private readonly listeners: SwapListener[] = [];

  onSwap(listener: SwapListener): void {
    this.listeners.push(listener);
  }

  /** Validates, compiles and swaps in `table`. Throws InvalidTableError (and keeps serving the previous
   * table) when it is not valid, or when a certificate it references has no material. `prevalidated`:
   * the caller already ran validate() on this very object (the Redis loader does, in slices). */
  swap(table: unknown, certificates: readonly CertificateMaterial[], opts: { prevalidated?: boolean } = {}): LoadedTable {
    try {
      const valid = opts.prevalidated === true ? (table as RoutingTable) : assertValidTable(table);
      const certs = new Map(certificates.map((c) => [c.id, c] as const));
      for (const c of valid.certificates) {
        if (!certs.has(c.id)) throw new MissingCertificateError(c.id);
      }
      const previous = this.current;
      if (previous !== null && previous.matcher.table.version === valid.version && sameCertificates(previous.certificates, certs))
        return previous;
      const next: LoadedTable = { matcher: compileMatcher(valid), certificates: certs, loadedAt: Date.now() };
      this.current = next;
      this.swaps++;
      for (const l of this.listeners) l(next, previous);
      return next;
    } catch (err) {
      this.refusals++;
      throw err;
    }
  }

  get table(): RoutingTable | null {
    return this.current?.matcher.table ?? null;
  }

  /** The table gauges of /metrics; `otherRefusals` are refusals before a swap (unparsable input, bad bundles). */
  gauges(otherRefusals: number, workers: number): TableGauges {
    return {
      version: this.table?.version ?? null,
      loadedAt: this.current?.loadedAt ?? null,
      swaps: this.swaps,
      refusals: this.refusals + otherRefusals,
      workers,
    };
  }
}

function sameCertificates(a: ReadonlyMap<string, CertificateMaterial>, b: ReadonlyMap<string, CertificateMaterial>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, m] of a) {
    const o = b.get(id);
    if (o === undefined || o.certPem !== m.certPem || o.keyPem !== m.keyPem) return false;
  }
  return true;
}

export class MissingCertificateError extends PorticoError {
  readonly code = 'PORTICO_MISSING_CERTIFICATE';
  constructor(readonly certificate: string) {
    super(`table references certificate ${certificate} but no certificate material came with it`);
  }
}
