// The table a worker serves right now. A swap validates and compiles the new table first and then
// replaces one reference, so a request that already holds the old matcher finishes on it (docs/ARCHITECTURE.md,
// "Data flow") and a table that fails validation never replaces the last good one.
import type { TableGauges } from './metrics.ts';
import { type BasicAuthMaterial, basicAuthMaterialMap } from './table/basic-auth.ts';
import { type CompiledHosts, compileMatcher, type Matcher } from './table/match.ts';
import { type CertificateMaterial, type RoutingTable, UPSTREAM_CLIENT_SUFFIX } from './table/schema.ts';
import { assertValidTable } from './table/validate.ts';
import { PorticoError } from './table/portico-error.ts';

export interface LoadedTable {
  readonly matcher: Matcher;
  readonly certificates: ReadonlyMap<string, CertificateMaterial>;
  /** Basic-auth users and hashes by revision (gateway/table/basic-auth.ts): what the access gate checks
   * Authorization headers against. A route whose revision is missing here answers 503. */
  readonly basicAuth?: ReadonlyMap<string, BasicAuthMaterial>;
  /** ms since epoch */
  readonly loadedAt: number;
}

export type SwapListener = (next: LoadedTable, previous: LoadedTable | null) => void;

export class LiveTable {
  current: LoadedTable | null = null;
  swaps = 0;
  refusals = 0;
  private readonly listeners: SwapListener[] = [];
  /** Host indexes of the tables swapped in so far: a table that holds the same frozen host entries (a follower's
   * parts) rebuilds only the others. */
  private readonly compiledHosts: CompiledHosts = new WeakMap();

  onSwap(listener: SwapListener): void {
    this.listeners.push(listener);
  }

  /** Validates, compiles and swaps in `table`. Throws InvalidTableError (and keeps serving the previous
   * table) when it is not valid, or when a certificate it references has no material. `prevalidated`:
   * the caller already ran validate() on this very object (the Redis loader does, in slices). `basicAuth`: the
   * compile result's (or opened bundle's) basic-auth material, checked and keyed by its revision here; the
   * table's version covers every revision, so the same version means the same material. */
  swap(
    table: unknown,
    certificates: readonly CertificateMaterial[],
    opts: { prevalidated?: boolean; basicAuth?: readonly unknown[] } = {},
  ): LoadedTable {
    try {
      const valid = opts.prevalidated === true ? (table as RoutingTable) : assertValidTable(table);
      const certs = new Map(certificates.map((c) => [c.id, c] as const));
      for (const c of valid.certificates) {
        if (!certs.has(c.id)) throw new MissingCertificateError(c.id);
      }
      // proxy-ssl-secret's client certificate: its key travels encrypted beside the table, as serving keys do.
      for (const s of valid.upstreamTlsSecrets ?? []) {
        const id = `${s.id}${UPSTREAM_CLIENT_SUFFIX}`;
        if (s.clientFingerprint !== undefined && !certs.has(id)) throw new MissingCertificateError(id);
      }
      const basicAuth = basicAuthMaterialMap(opts.basicAuth ?? []);
      const previous = this.current;
      if (
        previous !== null &&
        previous.matcher.table.version === valid.version &&
        sameCertificates(previous.certificates, certs) &&
        (previous.basicAuth?.size ?? 0) === basicAuth.size
      )
        return previous;
      const next: LoadedTable = {
        matcher: compileMatcher(valid, this.compiledHosts),
        certificates: certs,
        basicAuth,
        loadedAt: Date.now(),
      };
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
