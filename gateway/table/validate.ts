// validate(): every problem with a table, not just the first. Run by the agent before it publishes and
// by every worker before it swaps a table in; an empty list means the table is safe to serve.
import { compareRoutes, contentHash, schemaOf } from './canonical.ts';
import { isRecord, isValidRuleHost, pathProblem } from './names.ts';
import { checkAccess } from './validate-access.ts';
import { checkHeaderRules } from './validate-header-rules.ts';
import { checkHostRedirect, checkRouteFilters } from './validate-redirect.ts';
import { checkBodyLimit, checkBackendProtocol, checkRetry, checkTimeouts } from './validate-upstream.ts';
import { checkCanary } from './validate-canary.ts';
import { checkAffinity, checkBalance } from './validate-affinity.ts';
import { checkErrorPages, checkServiceUpstream } from './validate-error-pages.ts';
import { checkRegexHost, checkRegexPath } from './validate-regex.ts';
import { checkSettings } from './validate-settings.ts';
import { checkPassthrough } from './validate-passthrough.ts';
import { checkAuthorities, checkClientCertificatePolicy } from './client-certificates.ts';
import { checkUpstreamTlsPolicy, checkUpstreamTlsSecrets } from './validate-upstream-tls.ts';
import { SUPPORTED_SCHEMAS, type RoutingTable, type SchemaVersion } from './schema.ts';
import { PorticoError } from './portico-error.ts';
import { AskedSets, type IdSet, type ValidationMemo } from './validation-memo.ts';

export interface TableProblem {
  /** JSON-path-like location, e.g. `hosts[2].routes[0].backend`. */
  at: string;
  message: string;
}

export interface ValidateOptions {
  /** Recompute the content hash (default true). A worker that verified a signature over the exact bytes
   * of the table skips it: hashing a large table costs hundreds of milliseconds of one event loop. */
  checkHash?: boolean;
  /** Hosts and backends found clean in an earlier version and held again unchanged (frozen, the same objects) are
   * not checked again, only what they ask of the rest of the table (validation-memo.ts). A worker following a table
   * one change at a time passes the same memo every time. */
  memo?: ValidationMemo;
}

/** Checks shape, references, ordering and the content hash of an untrusted value. */
export function validate(value: unknown, opts: ValidateOptions = {}): TableProblem[] {
  const steps = checkSteps(value, opts);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** The same checks in slices, yielding to the event loop between them (large tables on a live worker). */
export async function validateAsync(value: unknown, opts: ValidateOptions = {}): Promise<TableProblem[]> {
  const steps = checkSteps(value, opts);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    await new Promise<void>((resolve) => nextTurn(resolve));
  }
}

/** Lets other work run: setImmediate where the runtime has it (Node, Deno), else a zero timeout. */
export const nextTurn = (fn: () => void): void => {
  if (typeof setImmediate === 'function') setImmediate(fn);
  else setTimeout(fn, 0);
};

const SLICE = 500; // entries checked between two yields

const isKeyList = (v: unknown): boolean => Array.isArray(v) && v.length > 0 && v.every((k) => typeof k === 'string' && k !== '');
const isPort = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

function* checkSteps(value: unknown, opts: ValidateOptions): Generator<void, TableProblem[]> {
  const memo = opts.memo;
  const problems: TableProblem[] = [];
  const bad = (at: string, message: string): void => void problems.push({ at, message });
  if (!isRecord(value)) return [{ at: '', message: 'table is not an object' }];
  if (!SUPPORTED_SCHEMAS.includes(value.schema as SchemaVersion))
    bad('schema', `unsupported schema ${JSON.stringify(value.schema)}, expected one of ${SUPPORTED_SCHEMAS.join(', ')}`);
  for (const k of ['hosts', 'backends', 'certificates'] as const) if (!Array.isArray(value[k])) bad(k, 'must be an array');
  if (problems.length) return problems;
  const t = value as unknown as RoutingTable;

  const backendIds = new Set<string>();
  for (let i = 0; i < t.backends.length; i++) {
    if (i % SLICE === SLICE - 1) yield;
    const b = t.backends[i];
    if (!isRecord(b) || typeof b.id !== 'string') {
      bad(`backends[${i}]`, 'backend needs a string id');
      continue;
    }
    if (backendIds.has(b.id)) bad(`backends[${i}].id`, `duplicate backend id ${b.id}`);
    backendIds.add(b.id);
    // A backend's own checks ask nothing of the rest of the table.
    if (memo?.stillClean('backend', b, []) === true) continue;
    const at = `backends[${i}]`;
    const before = problems.length;
    if (!isRecord(b.service) || typeof b.service.namespace !== 'string' || typeof b.service.name !== 'string')
      bad(`${at}.service`, 'needs namespace and name');
    if (!Number.isSafeInteger(b.notReady) || b.notReady < 0) bad(`${at}.notReady`, 'must be a count');
    checkServiceUpstream(b, at, bad);
    if (!Array.isArray(b.endpoints)) {
      bad(`${at}.endpoints`, 'must be an array');
      continue;
    }
    b.endpoints.forEach((e, j) => {
      if (!isRecord(e) || typeof e.address !== 'string' || e.address === '')
        bad(`${at}.endpoints[${j}].address`, 'must be a non-empty string');
      else if (!isPort(e.port)) bad(`${at}.endpoints[${j}].port`, `invalid port ${JSON.stringify(e.port)}`);
    });
    if (problems.length === before) memo?.remember('backend', b, []);
  }
  const certIds = new Set<string>();
  t.certificates.forEach((c, i) => {
    if (!isRecord(c) || typeof c.id !== 'string') {
      bad(`certificates[${i}]`, 'certificate needs a string id');
      return;
    }
    if (certIds.has(c.id)) bad(`certificates[${i}].id`, `duplicate certificate id ${c.id}`);
    certIds.add(c.id);
  });
  const refBackend = (at: string, id: unknown, ids: IdSet = backendIds): void => {
    if (id === null) return;
    if (typeof id !== 'string' || !ids.has(id)) bad(at, `unknown backend ${JSON.stringify(id)}`);
  };
  refBackend('defaultBackend', t.defaultBackend);
  checkSettings(t, certIds, bad);
  const failClosed = (at: string, v: unknown): void => {
    if (v !== undefined && !isKeyList(v)) bad(at, 'must be a non-empty list of annotation keys when present');
  };
  failClosed('defaultBackendFailClosed', t.defaultBackendFailClosed);
  const authorities = checkAuthorities(t.clientCertificateAuthorities, bad);
  const upstreamSecrets = checkUpstreamTlsSecrets(t.upstreamTlsSecrets, bad);
  // What a host's checks may ask of the rest of the table, through views that write the questions down (for the memo).
  const idSets = [backendIds, certIds, authorities, upstreamSecrets] as const;
  const asked = memo === undefined ? null : new AskedSets(idSets);
  const view = (i: number): IdSet => (asked === null ? idSets[i]! : asked.view(i));
  const [backendsOf, certsOf, authoritiesOf, secretsOf] = [view(0), view(1), view(2), view(3)];

  const hosts = new Set<string>();
  let work = 0; // entries checked since the last yield
  for (let i = 0; i < t.hosts.length; i++) {
    work += 1;
    if (work >= SLICE) {
      work = 0;
      yield;
    }
    const h = t.hosts[i];
    if (!isRecord(h) || typeof h.host !== 'string') {
      bad(`hosts[${i}]`, 'host entry needs a string host');
      continue;
    }
    if (memo?.stillClean('host', h, idSets) === true) {
      if (hosts.has(h.host)) bad(`hosts[${i}].host`, `duplicate host ${JSON.stringify(h.host)}`);
      hosts.add(h.host);
      continue;
    }
    const at = `hosts[${i}]`;
    const before = problems.length; // the entry is remembered only if it adds none
    asked?.begin();
    if (h.host !== '' && !isValidRuleHost(h.host)) bad(`${at}.host`, `invalid host ${JSON.stringify(h.host)}`);
    if (hosts.has(h.host)) bad(`${at}.host`, `duplicate host ${JSON.stringify(h.host)}`);
    hosts.add(h.host);
    if (h.tls !== null && (!isRecord(h.tls) || (h.tls.certificate !== null && !certsOf.has(h.tls.certificate as string)))) {
      bad(`${at}.tls`, `unknown certificate ${JSON.stringify(isRecord(h.tls) ? h.tls.certificate : h.tls)}`);
    }
    refBackend(`${at}.fallbackBackend`, h.fallbackBackend, backendsOf);
    failClosed(`${at}.fallbackFailClosed`, h.fallbackFailClosed);
    checkHostRedirect(h, at, bad);
    if (h.passthrough !== undefined) checkPassthrough(h, at, backendsOf, bad);
    if (h.clientCertificate !== undefined) checkClientCertificatePolicy(h.clientCertificate, `${at}.clientCertificate`, authoritiesOf, bad);
    if (!Array.isArray(h.routes)) {
      bad(`${at}.routes`, 'must be an array');
      continue;
    }
    checkRegexHost(h.routes, `${at}.routes`, bad);
    const seen = new Set<string>();
    for (let j = 0; j < h.routes.length; j++) {
      const r = h.routes[j]!;
      const rat = `${at}.routes[${j}]`;
      // A Regex route compiles its pattern: more work than a plain one, so a host of 2,000 of them is sliced too.
      work += 1;
      if (work >= SLICE) {
        work = 0;
        yield;
      }
      if (!isRecord(r) || typeof r.path !== 'string') {
        bad(rat, 'route needs a string path');
        continue;
      }
      if (r.pathType === 'Regex') work += 9;
      if (r.pathType !== 'Exact' && r.pathType !== 'Prefix' && r.pathType !== 'Regex')
        bad(`${rat}.pathType`, `invalid pathType ${JSON.stringify(r.pathType)}`);
      if (r.pathType === 'Regex') checkRegexPath(r.path, `${rat}.path`, bad);
      else {
        const shown = r.pathType === 'Prefix' && r.path === '' ? '/' : r.path;
        const p = pathProblem(shown);
        if (p) bad(`${rat}.path`, `path ${JSON.stringify(r.path)} ${p}`);
      }
      if (r.pathType === 'Prefix' && r.path.endsWith('/')) bad(`${rat}.path`, 'Prefix paths are stored without a trailing "/"');
      const key = `${r.pathType} ${r.path}`;
      if (seen.has(key)) bad(rat, `duplicate route ${key}`);
      seen.add(key);
      refBackend(`${rat}.backend`, r.backend, backendsOf);
      checkPolicies(r.policies, `${rat}.policies`, backendsOf, secretsOf, bad);
      const prev = h.routes[j - 1];
      if (j > 0 && isRecord(prev) && compareRoutes(prev, r) > 0) bad(rat, 'routes are not in precedence order');
    }
    if (asked !== null && problems.length === before) memo?.remember('host', h, asked.taken());
  }
  if (problems.length === 0) {
    // A fail-closed field in a table that says schema 1 would be ignored by a schema-1 worker: refuse that here
    // too, also when the hash is not recomputed.
    const { version: _v, schema, ...content } = t;
    const need = memo === undefined ? schemaOf(content) : schemaOf(content, (h) => memo.hostSchema(h));
    if (schema !== need) bad('schema', `table says schema ${schema}, its content needs schema ${need}`);
  }
  if (problems.length === 0 && opts.checkHash !== false) {
    const { version, schema: _schema, ...content } = t;
    const expected = contentHash(content);
    if (version !== expected) bad('version', `content hash is ${expected}, table says ${JSON.stringify(version)}`);
  } else if (typeof t.version !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(t.version)) {
    bad('version', `version must be sha256:<64 hex digits>, got ${JSON.stringify(t.version)}`);
  }
  return problems;
}

/** A route's policies: every field typed and bounded (the access policy and each schema-5 filter by its own checker). */
function checkPolicies(
  p: unknown,
  at: string,
  backendIds: IdSet,
  upstreamSecrets: IdSet,
  bad: (at: string, message: string) => void,
): void {
  if (!isRecord(p)) {
    bad(at, 'policies.sslRedirect must be a boolean');
    return;
  }
  if (typeof p.sslRedirect !== 'boolean') bad(at, 'policies.sslRedirect must be a boolean');
  else if (
    p.localWeight !== undefined &&
    !(Number.isInteger(p.localWeight) && (p.localWeight as number) >= 0 && (p.localWeight as number) <= 100)
  )
    bad(at, 'policies.localWeight must be a whole number from 0 to 100');
  if (p.failClosed !== undefined && !isKeyList(p.failClosed))
    bad(`${at}.failClosed`, 'must be a non-empty list of annotation keys when present');
  if (p.access !== undefined) checkAccess(p.access, `${at}.access`, bad);
  checkRouteFilters(p, at, bad);
  if (p.timeouts !== undefined) checkTimeouts(p.timeouts, `${at}.timeouts`, bad);
  if (p.bodyLimit !== undefined) checkBodyLimit(p.bodyLimit, `${at}.bodyLimit`, bad);
  if (p.retry !== undefined) checkRetry(p.retry, `${at}.retry`, bad);
  if (p.backendProtocol !== undefined) checkBackendProtocol(p.backendProtocol, `${at}.backendProtocol`, bad);
  if (p.upstreamTls !== undefined) checkUpstreamTlsPolicy(p.upstreamTls, `${at}.upstreamTls`, upstreamSecrets, p.backendProtocol, bad);
  if (p.canary !== undefined) checkCanary(p.canary, `${at}.canary`, backendIds, bad);
  if (p.affinity !== undefined) checkAffinity(p.affinity, `${at}.affinity`, bad);
  if (p.balance !== undefined) checkBalance(p.balance, `${at}.balance`, bad, p.affinity);
  checkErrorPages(p, at, backendIds, bad);
  if (p.headerRules !== undefined) checkHeaderRules(p.headerRules, `${at}.headerRules`, bad);
}

export class InvalidTableError extends PorticoError {
  readonly code = 'PORTICO_INVALID_TABLE';
  constructor(readonly problems: TableProblem[]) {
    super(
      `invalid routing table: ${problems
        .slice(0, 5)
        .map((p) => `${p.at || '(root)'}: ${p.message}`)
        .join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`,
    );
  }
}

export function assertValidTable(value: unknown, opts: ValidateOptions = {}): RoutingTable {
  const problems = validate(value, opts);
  if (problems.length) throw new InvalidTableError(problems);
  return value as RoutingTable;
}
