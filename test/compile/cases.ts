// The shape of a table-driven compiler case and the runner that checks one. Every case checks the whole
// diagnostic list (so an unexpected diagnostic fails it) and, when given, the whole host/backend summary.
import { expect } from 'vitest';
import type { CompileOptions, CompileResult, JwksDocument } from '../../sync/compile/types.ts';
import { objects, type AnyObject } from '../support/builders.ts';
import { acceptedSummary, diagSummary, endpointSummary, hostSummary, run, type HostSummary } from './harness.ts';

export interface Case {
  name: string;
  objects: AnyObject[] | (() => AnyObject[]);
  options?: Partial<CompileOptions>;
  /** JWK Sets as the agent fetched them (portico.dev/auth-jwt-jwks-url). */
  jwks?: JwksDocument[];
  /** Every host entry (see harness.hostSummary). */
  hosts?: Record<string, HostSummary>;
  /** Every backend: id → endpoints (see harness.endpointSummary). */
  backends?: Record<string, string[]>;
  defaultBackend?: string | null;
  accepted?: string[];
  /** Every diagnostic as `Code Kind ns/name` (+ ` (Info)`), in output order. Default: none. */
  diagnostics?: string[];
  /** Each must match the message of some diagnostic. */
  messages?: RegExp[];
  check?: (r: CompileResult) => void;
}

export function runCase(c: Case): CompileResult {
  const list = typeof c.objects === 'function' ? c.objects() : c.objects;
  const r = run({ ...objects(...list), ...(c.jwks === undefined ? {} : { jwks: c.jwks }) }, c.options);
  expect(diagSummary(r), 'diagnostics').toEqual(c.diagnostics ?? []);
  if (c.hosts !== undefined) expect(hostSummary(r.table), 'hosts').toEqual(c.hosts);
  if (c.backends !== undefined) expect(endpointSummary(r.table), 'backends').toEqual(c.backends);
  if (c.defaultBackend !== undefined) expect(r.table.defaultBackend, 'defaultBackend').toBe(c.defaultBackend);
  if (c.accepted !== undefined) expect(acceptedSummary(r), 'accepted').toEqual(c.accepted);
  for (const m of c.messages ?? []) {
    expect(
      r.diagnostics.map((d) => d.message),
      `a message matching ${String(m)}`,
    ).toEqual(expect.arrayContaining([expect.stringMatching(m)]));
  }
  c.check?.(r);
  return r;
}
