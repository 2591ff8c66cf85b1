// `portico inspect`: what the edge serves right now, and why. Reads the control plane's keys;
// only `rollback` writes. Exit codes: 0 ok, 2 bad usage, 3 Redis unreachable, 4 unknown cluster,
// 5 unknown version, 6 a stored table fails verification, 1 anything else.
import { hostname, userInfo } from 'node:os';
import { createRedisClient, describeTarget, type RedisClient, type RedisTarget } from '../../gateway/shared/redis-client.ts';
import { UsageError } from '../usage-error.ts';
import type { VerifyingKeys } from '../../gateway/table/bundle.ts';
import type { RedisCredentials } from '../../gateway/table/redis-layout.ts';
import { rollback } from '../../sync/publish/redis.ts';
import { parseFlags } from '../args.ts';
import { loadVerifyingKeys } from '../keys.ts';
import { parseRedisAccess, REDIS_ENV_USAGE, REDIS_FLAGS } from '../control-plane-flags.ts';
import { fields, render, table, type Format } from '../../gateway/inspect/format.ts';
import { currentPointer, history, InspectError, listClusters, loadVersion, resolveVersion, workers } from '../../gateway/inspect/read.ts';
import { certRows, diff, explain, historyRows, routeRows, statusView } from '../../gateway/inspect/views.ts';

export const INSPECT_USAGE = `usage: portico inspect <command> --redis URL [--cluster NAME] [--keys DIR] [-o table|json|yaml]
  status                      current version, publisher, counts, every worker and whether the fleet converged
  routes [--host H]           hosts, paths, backends, ready endpoints, TLS, redirects
  explain URL [--method M] [-H 'Name: value']...   which rules a request hits and why
  certs                       certificates per host: subject, SANs, issuer, expiry; warnings
  history                     published versions, newest first
  diff [V1 [V2]]              what changed (default: previous → current)
  rollback V                  make an earlier signed version current again (nothing is re-signed)
  diagnostics                 the compiler's diagnostics of the current version
--cluster may be left out when the Redis holds one cluster; --keys (or PORTICO_KEYS) verifies signatures.
exit codes: 0 ok, 2 bad usage, 3 Redis unreachable, 4 unknown cluster, 5 unknown version, 6 a stored table fails verification
${REDIS_ENV_USAGE}`;

const COMMANDS = ['status', 'routes', 'explain', 'certs', 'history', 'diff', 'rollback', 'diagnostics'] as const;
type Command = (typeof COMMANDS)[number];

async function connect(target: RedisTarget, credentials: RedisCredentials): Promise<RedisClient> {
  const redis = createRedisClient(target, credentials, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (err) {
    throw new InspectError('PORTICO_REDIS_UNREACHABLE', `cannot reach Redis at ${describeTarget(target)}: ${(err as Error).message}`, 3);
  }
  return redis;
}

export async function runInspect(argv: string[], out: (s: string) => void = (s) => void process.stdout.write(s)): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!COMMANDS.includes(cmd as Command))
    throw new UsageError(`inspect: unknown command ${JSON.stringify(cmd ?? '')} (one of: ${COMMANDS.join(', ')})`);
  const positionals: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a.startsWith('-')) {
      flagArgs.push(a);
      if (!a.includes('=') && i + 1 < rest.length) flagArgs.push(rest[++i]!);
    } else positionals.push(a);
  }
  const v = parseFlags(flagArgs, {
    ...REDIS_FLAGS,
    cluster: { type: 'string' },
    keys: { type: 'string' },
    output: { type: 'string', short: 'o' },
    host: { type: 'string' },
    method: { type: 'string' },
    header: { type: 'string', short: 'H', multiple: true },
  });
  const access = parseRedisAccess(v);
  const format = (v.output ?? 'table') as Format;
  if (!['table', 'json', 'yaml'].includes(format))
    throw new UsageError(`inspect: -o must be table, json or yaml, got ${JSON.stringify(v.output)}`);
  const keysDir = v.keys ?? process.env.PORTICO_KEYS;
  const keys: VerifyingKeys | null = keysDir === undefined ? null : await loadVerifyingKeys(keysDir);
  const redis = await connect(access.redis, access.credentials);
  try {
    let cluster = v.cluster;
    if (cluster === undefined) {
      const all = await listClusters(redis);
      if (all.length === 0) throw new InspectError('PORTICO_UNKNOWN_CLUSTER', 'no cluster has published a table to this Redis', 4);
      if (all.length > 1 && cmd === 'status') {
        // Every cluster sharing this Redis. Signatures are checked per cluster (--cluster X --keys DIR):
        // one key set cannot verify several clusters.
        const views = [];
        for (const c of all) {
          const ptr = await currentPointer(redis, c);
          views.push(statusView(c, ptr, await loadVersion(redis, c, ptr.version, null), await workers(redis, c)));
        }
        const rows = views.map((s) => ({
          cluster: s.cluster,
          version: s.version.slice(0, 19),
          seq: s.seq,
          publishedAt: s.publishedAt,
          publisher: s.publisher,
          hosts: s.hosts,
          routes: s.routes,
          workers: s.workers.length,
          converged: s.converged ? 'yes' : 'no',
          rollback: s.rollback ? 'in force' : 'no',
        }));
        return out(render(views, format, () => `CLUSTERS (signatures not checked: use --cluster NAME --keys DIR)\n${table(rows)}`));
      }
      if (all.length > 1) throw new UsageError(`inspect: --cluster is required (clusters here: ${all.join(', ')})`);
      cluster = all[0]!;
    }
    const ptr = await currentPointer(redis, cluster);
    const current = () => loadVersion(redis, cluster!, ptr.version, keys);
    switch (cmd as Command) {
      case 'status': {
        const s = statusView(cluster, ptr, await current(), await workers(redis, cluster));
        const { workers: fleet, ...head } = s;
        const rollback = head.rollback ? `in force: from ${head.rollback.from} by ${head.rollback.by} at ${head.rollback.at}` : 'no';
        const stale = fleet.filter((w) => w.version !== s.version).length;
        const converged = s.converged ? 'yes' : `no (${stale} of ${fleet.length} workers serve another version)`;
        const text = (): string =>
          `${fields({ ...head, rollback, converged })}\nWORKERS\n${table(fleet.map((w) => ({ ...w, version: w.version?.slice(0, 19) ?? null })))}`;
        return out(render(s, format, text));
      }
      case 'routes': {
        const rows = routeRows((await current()).table, v.host);
        return out(render(rows, format, () => table(rows, v.host ? `(no routes for host ${v.host})` : '(no routes)')));
      }
      case 'explain': {
        const url = positionals[0];
        if (url === undefined) throw new UsageError('inspect explain: a URL is required, e.g. https://shop.example.com/api/x');
        const headers: Record<string, string> = { ':method': v.method ?? 'GET' };
        for (const h of v.header ?? []) {
          const i = h.indexOf(':');
          if (i < 1) throw new UsageError(`inspect explain: -H expects 'Name: value', got ${JSON.stringify(h)}`);
          headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
        }
        let e: ReturnType<typeof explain>;
        try {
          e = explain((await current()).table, url, headers);
        } catch (err) {
          if (err instanceof TypeError) throw new UsageError(`inspect explain: not a URL: ${JSON.stringify(url)}`);
          throw err;
        }
        return out(render(e, format, () => fields(e)));
      }
      case 'certs': {
        const rows = certRows(await current(), new Date());
        return out(render(rows, format, () => table(rows)));
      }
      case 'history': {
        const rows = historyRows(await history(redis, cluster), ptr.version);
        return out(render(rows, format, () => table(rows)));
      }
      case 'diff': {
        const entries = await history(redis, cluster);
        const [a, b] = positionals;
        const toVersion = b !== undefined ? (await resolveVersion(redis, cluster, b)).version : ptr.version;
        const fromVersion =
          a !== undefined ? (await resolveVersion(redis, cluster, a)).version : entries.find((e) => e.version !== ptr.version)?.version;
        if (fromVersion === undefined) throw new InspectError('PORTICO_UNKNOWN_VERSION', 'there is no earlier version to compare with', 5);
        const d = diff(
          (await loadVersion(redis, cluster, fromVersion, keys)).table,
          (await loadVersion(redis, cluster, toVersion, keys)).table,
        );
        return out(render(d, format, () => humanDiff(d)));
      }
      case 'rollback': {
        const target = positionals[0];
        if (target === undefined) throw new UsageError('inspect rollback: a version is required (see: portico inspect history)');
        const entry = await resolveVersion(redis, cluster, target);
        if (keys !== null) await loadVersion(redis, cluster, entry.version, keys); // refuse to roll back to a table that does not verify
        const by = `${whoAmI()}@${hostname()}`;
        const r = await rollback(redis, cluster, entry, by);
        return out(
          render({ result: r, version: entry.version, from: ptr.version, by }, format, () =>
            r === 'already-current'
              ? `${entry.version} is already current\n`
              : `rolled back ${cluster} from ${ptr.version} to ${entry.version} (by ${by}); the agent republishes when the cluster's objects change\n`,
          ),
        );
      }
      case 'diagnostics': {
        const rows = (await current()).diagnostics.map((d) => ({
          object: `${d.object.kind} ${d.object.namespace}/${d.object.name}`,
          severity: d.severity,
          code: d.code,
          message: d.message,
        }));
        return out(render(rows, format, () => table(rows, '(no diagnostics)')));
      }
    }
  } finally {
    redis.disconnect();
  }
}

function humanDiff(d: ReturnType<typeof diff>): string {
  const lines = [`from ${d.from}`, `to   ${d.to}`];
  const section = (title: string, items: [string, string[]][]) => {
    const present = items.filter(([, xs]) => xs.length > 0);
    if (present.length === 0) return;
    lines.push('', title);
    for (const [sign, xs] of present) for (const x of xs) lines.push(`  ${sign} ${x}`);
  };
  section('hosts', [
    ['+', d.hosts.added],
    ['-', d.hosts.removed],
  ]);
  section('routes', [
    ['+', d.routes.added],
    ['-', d.routes.removed],
    ['~', d.routes.changed],
  ]);
  section('backends', [
    ['+', d.backends.added],
    ['-', d.backends.removed],
    ['~', d.backends.endpoints],
  ]);
  section('certificates', [
    ['+', d.certificates.added],
    ['-', d.certificates.removed],
    ['~', d.certificates.changed],
  ]);
  if (lines.length === 2) lines.push('', 'no differences');
  return `${lines.join('\n')}\n`;
}

/** The operator's name for the rollback record; a uid without a passwd entry must not abort the rollback. */
function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}
