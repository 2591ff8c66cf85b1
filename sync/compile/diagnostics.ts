// Diagnostic constructors and the canonical diagnostic order. Severity follows from the code, so the same
// problem is always reported the same way.
import type { Backend, ObjectRef } from '../../gateway/table/schema.ts';
import { compareStrings } from './objects.ts';
import type { Diagnostic, DiagnosticCode } from './types.ts';

export type ObjectKind = Diagnostic['object']['kind'];
export type Severity = Diagnostic['severity'];

/** Codes that describe a harmless or expected state rather than a mistake in an object. */
const INFO_CODES: ReadonlySet<DiagnosticCode> = new Set<DiagnosticCode>([
  'NoReadyEndpoints',
  'CanaryAnnotationIgnored',
  'DefaultBackendConflict',
  'TLSHostWithoutRule',
  'RegexHost',
  'SettingAccepted',
]);

export function severityOf(code: DiagnosticCode): Severity {
  return INFO_CODES.has(code) ? 'Info' : 'Warning';
}

export function diagnostic(code: DiagnosticCode, kind: ObjectKind, ref: ObjectRef, message: string): Diagnostic {
  return { code, severity: severityOf(code), object: { kind, namespace: ref.namespace, name: ref.name }, message };
}

/** Reports problems about one object. */
export type Report = (code: DiagnosticCode, message: string) => void;

export function reporter(sink: Diagnostic[], kind: ObjectKind, ref: ObjectRef): Report {
  return (code, message) => void sink.push(diagnostic(code, kind, ref, message));
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    compareStrings(a.object.kind, b.object.kind) ||
    compareStrings(a.object.namespace, b.object.namespace) ||
    compareStrings(a.object.name, b.object.name) ||
    compareStrings(a.code, b.code) ||
    compareStrings(a.message, b.message) ||
    compareStrings(a.severity, b.severity)
  );
}

/** Sorted by object kind/namespace/name, then code, then message; exact repeats removed (several paths
 * of one Ingress that point at the same missing Service give one diagnostic). */
export function finishDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...list].sort(compareDiagnostics);
  return sorted.filter((d, i) => i === 0 || compareDiagnostics(sorted[i - 1]!, d) !== 0);
}

/** Info on a Service that exists but has nothing ready (scaled to zero, crash-looping, or a selector
 * that matches no pod): its routes answer 503. */
export function noReadyEndpoints(b: Backend): Diagnostic {
  return diagnostic('NoReadyEndpoints', 'Service', b.service, `backend ${b.id} has no ready endpoints; requests routed to it get 503`);
}
