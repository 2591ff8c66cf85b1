// validate(): every problem with a table, not just the first. Run by the agent before it publishes and
// by every worker before it swaps a table in; an empty list means the table is safe to serve.
import { compareRoutes, contentHash } from './canonical.ts';
import { isValidRuleHost, pathProblem } from './names.ts';
import { SCHEMA_VERSION, type RoutingTable } from './schema.ts';

export interface TableProblem {
  /** JSON-path-like location, e.g. `hosts[2].routes[0].backend`. */
  at: string;
  message: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/** Checks shape, references, ordering and the content hash of an untrusted value. */
export function validate(value: unknown): TableProblem[] {
  const problems: TableProblem[] = [];
  const bad = (at: string, message: string): void => void problems.push({ at, message });
  if (!isObj(value)) return [{ at: '', message: 'table is not an object' }];
  if (value.schema !== SCHEMA_VERSION) bad('schema', `unsupported schema ${JSON.stringify(value.schema)}, expected ${SCHEMA_VERSION}`);
  for (const k of ['hosts', 'backends', 'certificates'] as const) if (!Array.isArray(value[k])) bad(k, 'must be an array');
  if (problems.length) return problems;
  const t = value as unknown as RoutingTable;

  const backendIds = new Set<string>();
  t.backends.forEach((b, i) => {
    const at = `backends[${i}]`;
    if (!isObj(b) || typeof b.id !== 'string') return bad(at, 'backend needs a string id');
    if (backendIds.has(b.id)) bad(`${at}.id`, `duplicate backend id ${b.id}`);
    backendIds.add(b.id);
    if (!isObj(b.service) || typeof b.service.namespace !== 'string' || typeof b.service.name !== 'string') bad(`${at}.service`, 'needs namespace and name');
    if (!Array.isArray(b.endpoints)) return bad(`${at}.endpoints`, 'must be an array');
    b.endpoints.forEach((e, j) => {
      if (!isObj(e) || typeof e.address !== 'string' || e.address === '') bad(`${at}.endpoints[${j}].address`, 'must be a non-empty string');
      else if (!isPort(e.port)) bad(`${at}.endpoints[${j}].port`, `invalid port ${JSON.stringify(e.port)}`);
    });
  });
  const certIds = new Set<string>();
  t.certificates.forEach((c, i) => {
    if (!isObj(c) || typeof c.id !== 'string') return bad(`certificates[${i}]`, 'certificate needs a string id');
    if (certIds.has(c.id)) bad(`certificates[${i}].id`, `duplicate certificate id ${c.id}`);
    certIds.add(c.id);
  });
  const refBackend = (at: string, id: unknown): void => {
    if (id === null) return;
    if (typeof id !== 'string' || !backendIds.has(id)) bad(at, `unknown backend ${JSON.stringify(id)}`);
  };
  refBackend('defaultBackend', t.defaultBackend);

  const hosts = new Set<string>();
  t.hosts.forEach((h, i) => {
    const at = `hosts[${i}]`;
    if (!isObj(h) || typeof h.host !== 'string') return bad(at, 'host entry needs a string host');
    if (h.host !== '' && !isValidRuleHost(h.host)) bad(`${at}.host`, `invalid host ${JSON.stringify(h.host)}`);
    if (hosts.has(h.host)) bad(`${at}.host`, `duplicate host ${JSON.stringify(h.host)}`);
    hosts.add(h.host);
    if (h.tls !== null && (!isObj(h.tls) || (h.tls.certificate !== null && !certIds.has(h.tls.certificate as string)))) {
      bad(`${at}.tls`, `unknown certificate ${JSON.stringify(isObj(h.tls) ? h.tls.certificate : h.tls)}`);
    }
    refBackend(`${at}.fallbackBackend`, h.fallbackBackend);
    if (!Array.isArray(h.routes)) return bad(`${at}.routes`, 'must be an array');
    const seen = new Set<string>();
    h.routes.forEach((r, j) => {
      const rat = `${at}.routes[${j}]`;
      if (!isObj(r) || typeof r.path !== 'string') return bad(rat, 'route needs a string path');
      if (r.pathType !== 'Exact' && r.pathType !== 'Prefix') bad(`${rat}.pathType`, `invalid pathType ${JSON.stringify(r.pathType)}`);
      const shown = r.pathType === 'Prefix' && r.path === '' ? '/' : r.path;
      const p = pathProblem(shown);
      if (p) bad(`${rat}.path`, `path ${JSON.stringify(r.path)} ${p}`);
      if (r.pathType === 'Prefix' && r.path.endsWith('/')) bad(`${rat}.path`, 'Prefix paths are stored without a trailing "/"');
      const key = `${r.pathType} ${r.path}`;
      if (seen.has(key)) bad(rat, `duplicate route ${key}`);
      seen.add(key);
      refBackend(`${rat}.backend`, r.backend);
      if (!isObj(r.policies) || typeof r.policies.sslRedirect !== 'boolean') bad(`${rat}.policies`, 'policies.sslRedirect must be a boolean');
      const prev = h.routes[j - 1];
      if (j > 0 && isObj(prev) && compareRoutes(prev, r) > 0) bad(rat, 'routes are not in precedence order');
    });
  });
  if (problems.length === 0) {
    const { version, schema: _schema, ...content } = t;
    const expected = contentHash(content);
    if (version !== expected) bad('version', `content hash is ${expected}, table says ${JSON.stringify(version)}`);
  }
  return problems;
}

export class InvalidTableError extends Error {
  readonly code = 'PORTICO_INVALID_TABLE';
  constructor(readonly problems: TableProblem[]) {
    super(`invalid routing table: ${problems.slice(0, 5).map((p) => `${p.at || '(root)'}: ${p.message}`).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`);
  }
}

export function assertValidTable(value: unknown): RoutingTable {
  const problems = validate(value);
  if (problems.length) throw new InvalidTableError(problems);
  return value as RoutingTable;
}
